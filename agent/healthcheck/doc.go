// Package healthcheck serves the agent's health endpoints the way
// kube-proxy does, so load balancers and probes written for kube-proxy
// work unchanged:
//
//   - ProxyHealth answers /healthz and /livez with kube-proxy's JSON body
//     {"lastUpdated", "currentTime", "nodeEligible" (/healthz only),
//     "healthy", "status"}: 200 while the agent keeps up, 503 once queued
//     work (a change, the initial state, a periodic sync) has waited for
//     the timeout (2×SyncPeriod, like kube-proxy). /healthz is also 503
//     before the first sync and while the node is being deleted, so cloud
//     load balancers drain it; /livez ignores that, so the kubelet does not
//     restart a working agent. docs/METRICS.md has the details.
//   - ServiceHealth runs one HTTP server per healthCheckNodePort
//     (externalTrafficPolicy Local): 200 when the Service has ready
//     endpoints on this node, 503 otherwise, so a load balancer only sends
//     traffic to nodes that can serve it locally. Servers are opened and
//     closed as Services come and go; they listen in the caller's network
//     namespace.
package healthcheck
