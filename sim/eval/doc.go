// Package eval runs KISim's evaluation matrix, scenarios by scalers, in
// parallel, and renders it as a table or JSON.
package eval
