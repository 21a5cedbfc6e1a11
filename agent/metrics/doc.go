// Package metrics defines the agent's Prometheus metrics.
//
// The kube-proxy metrics (KubeProxy) are kube-proxy v1.37.2's, with the
// same names ("kubeproxy_…"), help, types, label names, buckets and
// stability levels, built with k8s.io/component-base/metrics like
// upstream, and registered per mode as upstream's RegisterMetrics does, so
// dashboards and alerts written for kube-proxy work unchanged. Metrics
// kube-proxy has no equivalent for are svcnat's own ("svcnat_…").
// testdata/kubeproxy-v1.37.2.json is the reference the tests compare with;
// docs/METRICS.md lists every metric.
//
// Every agent owns private registries (no global state), so several
// agents, and tests, run in one process. The handler also serves the
// process-wide legacyregistry of component-base: Go runtime and process
// metrics, and client-go's rest_client_* metrics, whose adapter this
// package installs (as kube-proxy's main package does).
package metrics
