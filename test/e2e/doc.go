// Package e2e holds svcnat's end-to-end tests: `svcnat run` as the node
// agent against a real kube-apiserver (built from the k8s.io/kubernetes
// module) backed by etcd, with real traffic through a netns lab. The tests
// carry the build tag e2e, so `go test ./...` skips them.
//
// # Running
//
//	make e2e
//
// which is
//
//	tools/kubernetes/build.sh   # once: .cache/bin/kube-apiserver, etcd (~10 min cold, then reused)
//	E2E_REQUIRED=1 go test -tags e2e -count=1 -v -timeout 15m ./test/e2e
//
// Needs root, iproute2, nftables/iptables like the netns tests, and etcd
// (build.sh builds v3.7.0, the version Kubernetes v1.37.2 is built against;
// ETCD overrides). Without the kube-apiserver binary
// (or without root) the whole suite is skipped with a message, unless
// E2E_REQUIRED=1, which turns that into a failure. One case:
// `go test -tags e2e -run TestSeedNodePort ./test/e2e`.
//
// Environment: KUBE_APISERVER and ETCD (binaries), SVCNAT_BIN (default:
// cmd/svcnat built into the temp dir), E2E_BACKEND (nftables or iptables),
// E2E_AGENT_ARGS (extra `svcnat run` flags), E2E_OUTAGE (API server outage,
// default 30s), E2E_SUMMARY (latency summary file, default
// .cache/e2e-latency.txt), E2E_KEEP=1 (keep the temp dir with the logs).
//
// # Set-up
//
// The harness is internal/labtest's: labtest.Proc runs every process,
// labtest.BuildSvcnat builds svcnat (with the Makefile's version stamp),
// labtest.KubeAPIServer, KubeProxy and Etcd find the binaries, and
// kubelab.Start runs the control plane described here.
//
// TestMain builds one lab (netns kit: client, node-1, node-2 on a LAN
// bridge) and runs etcd and kube-apiserver inside the client's namespace,
// the API server bound to 192.168.1.10: the node reaches it over its veth
// and the bridge, as a real node would. etcd listens on a random free
// loopback port there; the API server uses a static token
// (system:masters), AlwaysAllow, a self-signed serving certificate
// (--cert-dir), a fresh service-account key pair,
// --service-cluster-ip-range=10.96.0.0/16 and
// --endpoint-reconciler-type=none. The test's own client-go opens its
// sockets inside that namespace (the root namespace has no route to the
// lab, and gets none). The kubeconfig for svcnat skips TLS verification
// and carries the bearer token.
//
// No controller manager runs: the tests create the Node objects (node-1,
// InternalIP 192.168.1.100; node-2, 192.168.1.101) and every EndpointSlice
// themselves, as the kubelet and the EndpointSlice controller would
// (label kubernetes.io/service-name, managed-by, owner reference). Lab
// pods are the endpoints; each serves the netns echo protocol on TCP 8080
// and 9090.
//
// `svcnat run --kubeconfig ... --hostname-override node-1 --node-ip
// 192.168.1.100` runs inside the node's namespace; its log is printed when
// a case fails, and every process log when the suite fails. Everything
// (processes by pid: SIGTERM, then SIGKILL; namespaces; the temp dir) is
// removed at the end, also on failure; children get SIGKILL if the test
// binary dies.
//
// # Cases
//
// Files cases1..3 run in this order, one after the other, against the one
// agent:
//
//   - TestAPIServer: the harness itself (no agent needed).
//   - TestSeedNodePort: my-app-service, 192.168.1.100:30080 from the client
//     (masqueraded) and ClusterIP:80 from a pod.
//   - TestEndpointChanges: scale up and down (three rounds), to zero
//     (REJECT) and back, targetPort 8080 -> 9090.
//   - TestServiceTypeChanges: ClusterIP -> NodePort -> LoadBalancer
//     (status.loadBalancer.ingress 192.168.1.240, routed by the client via
//     the node) -> ClusterIP -> deleted.
//   - TestOtherProxyIgnored: service.kubernetes.io/service-proxy-name=other.
//   - TestExternalTrafficPolicyLocal: local endpoint only, source kept,
//     health check node port 200; no local endpoint: DROP and 503.
//   - TestSessionAffinity: ClientIP, via NodePort and ClusterIP.
//   - TestTerminatingEndpoints: serving terminating endpoints only as a
//     fallback; not serving: REJECT.
//   - TestAPIServerOutage, TestAgentKilled, TestEtcdRestart: faults under
//     background traffic, which must see no failed connection.
//
// # Latencies
//
// Every change records the time from the API write returning to the start
// of the first probe (one TCP connection, polled every 15 ms) that sees the
// new state; removals of some endpoints need 8 probes in a row that avoid
// them, and the time to the first of those is recorded. The suite prints
// median and worst per kind and writes them to .cache/e2e-latency.txt.
// Probes overlap (one starts every 15 ms even while an earlier one waits
// out a DROP), so a dropped probe does not delay the measurement.
//
// Measured on the shared 2-core machine (kube-apiserver v1.37.2, etcd
// 3.4.23, svcnat defaults: --min-sync-period 100ms), whole suite:
//
//	backend    median   worst (ordinary changes)   after a 30 s API outage
//	nftables   76 ms    159 ms                      2.0 s (endpoints), 1.0 s (new Service)
//	iptables   61 ms    106 ms                      9 s after a 5 s outage (before the recovery probe)
//
// Most changes land within one sync period (100 ms). A 0 means the rules
// had already changed when the API call returned: the watch event can
// reach the agent before the HTTP response reaches the test (Service
// deletes and type changes answer only after releasing IPs and ports).
// After an outage the restarted API server's watch cache has no history,
// so client-go's reflectors would relist only after their backoff (30-90 s
// were measured); the agent probes /readyz and restarts its informers as
// soon as the API server is back (agent/source/recovery.go). The kube-proxy
// drop-in, migration and rolling-upgrade cases (cases4..6) run the binary
// as kubeadm runs kube-proxy, next to real kube-proxy v1.37.2
// (.cache/bin/kube-proxy, KUBE_PROXY overrides), and need no failed or
// broken connection. Run time: about 2.5 minutes with the 30 s outage.
package e2e
