// Package examples embeds the example HPA, so that KISim runs KIScaler
// through the exact HorizontalPodAutoscaler the manifests deploy.
package examples

import _ "embed"

// HPA is hpa.yaml: the stock HorizontalPodAutoscaler that follows
// kis_desired_replicas for the example Deployment.
//
//go:embed hpa.yaml
var HPA []byte
