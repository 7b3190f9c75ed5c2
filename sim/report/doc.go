// Package report writes a run's time series as CSV and as SVG plots.
package report
