// Package cluster loads and validates KISim's cluster spec: node pools of GPU
// nodes, what each node has cached, and how fast pods start on them.
package cluster
