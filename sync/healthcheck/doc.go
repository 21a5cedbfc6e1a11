// Package healthcheck serves the agent's health endpoints the way
// kube-proxy does, so load balancers and probes written for kube-proxy
// work unchanged:
//
//   - ProxyHealth answers /healthz and /livez with 200 and a JSON body
//     {"lastUpdated", "currentTime", "nodeHealthy"} while the agent keeps up,
//     and 503 once a queued change has waited longer than the timeout
//     (kube-proxy uses 2×SyncPeriod). /healthz is also 503 while the node is
//     being deleted, so cloud load balancers drain it; /livez ignores that,
//     so the kubelet does not restart a healthy agent.
//   - ServiceHealth runs one HTTP server per healthCheckNodePort
//     (externalTrafficPolicy Local): 200 when the Service has ready
//     endpoints on this node, 503 otherwise, so a load balancer only sends
//     traffic to nodes that can serve it locally. Servers are opened and
//     closed as Services come and go; they listen in the caller's network
//     namespace.
package healthcheck
