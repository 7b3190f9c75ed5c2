package kubesched

import fwk "k8s.io/kube-scheduler/framework"

// DisableEquivalence turns off the PreFilter state reuse, the filter cache
// and node grouping, so a test can compare placements with and without them.
func DisableEquivalence(s *Scheduler) { s.noEquivalence = true }

// PodTemplate is the pod KISim hands the scheduler framework for req.
var PodTemplate = podTemplate

// NodeInfo is the scheduler's NodeInfo of sim node idx.
func NodeInfo(s *Scheduler, idx int) fwk.NodeInfo { return s.ordered[idx] }
