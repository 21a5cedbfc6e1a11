// Package fleet measures svcnat on a cluster of nodes against one API
// server, side by side with upstream kube-proxy: how long a change written
// to the API takes to be live on every node (the Kubernetes scalability
// SLO "in-cluster network programming latency"), what one proxy costs in
// memory and API requests, and what the whole fleet does when the API
// server, etcd, a node or every proxy restarts. The tests carry the build
// tag fleet, so `go test ./...` skips them.
//
// # Running
//
//	make fleet                                      # 8 nodes, 1000 Services, svcnat then kube-proxy
//	FLEET_NODES=8 FLEET_SERVICES=10000 FLEET_PROXIES=svcnat make fleet
//
// Needs root, iproute2, nftables, conntrack, and kube-apiserver and
// kube-proxy v1.37.2 and etcd v3.7.0 (tools/kubernetes/build.sh builds all
// three into .cache/bin; KUBE_APISERVER, KUBE_PROXY and ETCD override).
// `make e2e` runs a small fleet too (3 nodes, 100 Services, both proxies).
//
// Environment (defaults in brackets): FLEET_NODES [8], FLEET_SERVICES
// [1000], FLEET_PROXIES [svcnat,kube-proxy], FLEET_CHURN (how long
// endpoints are churned while latency is probed) [60s], FLEET_CHURN_RATE
// (endpoint changes per second) [10], FLEET_OUTAGE (API server outage)
// [30s], FLEET_QPS (the load generator's API writes per second) [300],
// FLEET_MIN_SYNC_PERIOD (both proxies' nftables.minSyncPeriod) [100ms],
// FLEET_SYNC_LIMIT (bound on the first full sync of every node) [15m],
// FLEET_REPORT (a Markdown file the result rows are appended to)
// [.cache/fleet-report.md], FLEET_KEEP=1 (keep the logs' directory),
// FLEET_PROXY_ENV (space-separated KEY=VALUE added to the proxies'
// environment only, e.g. GOMEMLIMIT=100MiB: set in make's environment it
// would reach kube-apiserver and etcd too), FLEET_REBOOTS (how many
// times node-1 reboots once the fleet settled) [3], FLEET_REBOOT_PROFILE=1
// (a CPU profile of node-1's proxy during its first settled reboot, saved
// beside the logs as PROXY-node-1.reboot.cpu.pprof; use with FLEET_KEEP=1).
//
// # What a run does, per proxy
//
//  1. A fresh Fleet (netns.NewFleet: N node namespaces on one LAN, a flat
//     pod network, one namespace per node owning its whole pod CIDR), a
//     fresh etcd and kube-apiserver, a Node object per node (podCIDR,
//     InternalIP).
//  2. The load generator creates FLEET_SERVICES Services (every tenth a
//     NodePort) with one EndpointSlice of 10 endpoints each, on two nodes,
//     through the API at FLEET_QPS.
//  3. One proxy per node, in the node's namespace, started as a DaemonSet
//     pod would be: `BIN --config=FILE --hostname-override=NODE`, FILE being
//     kubeadm's config.conf (mode nftables, clusterCIDR, the minimum sync
//     period above, profiling on). svcnat and kube-proxy get the same file.
//     The time until every node serves the probes and a sample of the
//     Services is the first sync.
//  4. For FLEET_CHURN, it replaces one endpoint of a random Service
//     FLEET_CHURN_RATE times a second, while a client pod on every node
//     opens connections (one every 100 ms) to ClusterIPs and to other
//     nodes' NodePorts of Services whose pods are on other nodes. Every
//     second it moves the single endpoint of a probe Service and every node
//     dials the probe's ClusterIP until the new endpoint answers: that time,
//     from just before the API write, is one latency sample per node.
//  5. Faults, still under churn and traffic: the API server stops for
//     FLEET_OUTAGE (then the first change written after it is ready is
//     timed on every node: outage_recovery_s); etcd restarts (timed the same
//     way); node-1 "reboots" (its proxy is killed, its rules and conntrack
//     table flushed, its proxy started again: time until its rules serve
//     every probe and a sample of Services), once right after the etcd
//     restart and FLEET_REBOOTS times once the fleet settled (the API
//     server ready and every proxy healthy for 5 s); every proxy is
//     restarted in turn (a rolling update).
//
// The run ends with one line per proxy:
//
//	fleet: proxy=NAME nodes=N services=S p50_ms=X p99_ms=Y max_ms=Z rss_mb_max=R outage_recovery_s=O failed_connections=F
//
// p50/p99/max are over every probe sample of every node; rss_mb_max is the
// largest resident set of any proxy process (sampled every 500 ms, and its
// VmHWM before each stop); failed_connections counts the client pods'
// connections that failed, except while node-1 is rebooted (its rules are
// gone on purpose then; the traffic pauses). The report file gets the
// same figures and the details (the proxies' own
// network_programming_duration_seconds, requests and watches per node,
// first-sync time, the fault timings) as Markdown table rows.
package fleet
