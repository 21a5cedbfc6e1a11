// Package nftables is svcnat's nftables backend: it renders synth.Rulesets
// as an `nft -f` script (dry runs, golden files) and programs the same
// objects into a network namespace over netlink with github.com/google/nftables.
//
// Both outputs come from one intermediate model (model.go): a table of sets,
// maps and chains whose rules are lists of small statements, each of which
// knows its nft text and its netlink expressions (stmt.go). Text and
// netlink therefore cannot drift apart, and a test checks that `nft list`
// shows the same table whichever way it was loaded.
//
// Layout (per family, tables `ip svcnat` and `ip6 svcnat`): a fixed number
// of named sets and maps, independent of the number of Services, so that a
// sync never asks the kernel to create a set per Service (the quadratic
// nf_tables_newset cost kube-proxy's anonymous vmaps pay).
//
//   - Dispatch: verdict maps keyed by address . protocol . port (and
//     protocol . NodePort) go to shared chains named by what they do:
//     svc-N (ClusterIP traffic, N endpoints), svc-local-N
//     (internalTrafficPolicy Local), ext-N and ext-local-N-L (NodePorts,
//     external and load-balancer IPs). They decide about masquerading and
//     go on to dnat-N. Only ports with loadBalancerSourceRanges (fw-…) or
//     session affinity have chains of their own, so the number of chains
//     does not grow with the number of Services: every commit walks the
//     table's chain list, whatever it changes (shared.go).
//   - Endpoints: four endpoint maps (cluster and local lists, keyed by
//     entry address or by NodePort) map entry key . slot to the endpoint's
//     address . port; slots 0..N-1 hold the N endpoints, in list order
//     when a port is first built, and a rebuilt port keeps its endpoints'
//     slots so a change of k endpoints changes O(k) elements (slots.go).
//     The shared chain
//     dnat-N (local-dnat-N) does `dnat to <entry key> . numgen random mod
//     N map @...`. Replacing an endpoint changes elements only: the kernel
//     revalidates the table's rules only when a rule or a verdict changes.
//     Sharing the DNAT chains keeps the maps' bindings few. A port with a
//     long list (ownDNATMin endpoints or more) has its own svc-, ext- and
//     dnat- chains instead, so that a change of its length replaces the
//     rules of one chain rather than moving the port to new shared chains
//     (each new rule that looks a map up makes the kernel walk that map).
//   - Hairpin: one postrouting rule marks DNATed packets whose source .
//     destination is in the hairpin set of endpoint address pairs; the
//     set's elements are shared by the ports that select an endpoint and
//     reference-counted (fastpath.go).
//   - Session affinity keeps per-endpoint chains: a dynamic timeout set per
//     endpoint and chained `numgen random mod K` rules.
//
// Apply sends one netlink batch per call (atomic). The first call, and the
// first after Reconcile or an error, reads the table back from the kernel
// (internal/nfnl) and sends only the differences from what it holds,
// replacing the whole table in that one batch only when the kernel's table
// is missing or cannot be compared; later calls send only the differences
// from the previous model.
//
// The model is one fragment per service port (fragment.go), kept between
// calls in a chunked, copy-on-write list (fraglist.go). ApplyChanged,
// told which ports changed, rebuilds only those fragments (changed.go), so
// a one-endpoint sync costs the same at 50k Services as at 1k. Endpoint-map
// and hairpin elements are derived from a fragment's port when needed, not
// stored, and a first sync streams them into the batch (stream.go).
package nftables
