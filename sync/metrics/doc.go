// Package metrics defines the agent's Prometheus metrics. Names mirror
// kube-proxy's (pkg/proxy/metrics) with the prefix "svcnat_" instead of
// "kubeproxy_", so dashboards and alerts port by renaming; metrics
// kube-proxy has no equivalent for are marked as svcnat's own.
//
// Every Agent owns a private Registry (no global state), so several agents,
// and tests, run in one process.
package metrics
