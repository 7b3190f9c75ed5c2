// Package autoscale holds the autoscalers KISim compares, behind one
// interface: a faithful model of the stock HorizontalPodAutoscaler
// controller, fixed replicas, a KEDA-style queue scaler, a predictive
// (Holt trend) scaler and a clairvoyant oracle.
package autoscale
