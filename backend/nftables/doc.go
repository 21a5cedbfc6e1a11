// Package nftables is svcnat's nftables backend: it renders synth.Rulesets
// as an `nft -f` script (dry runs, golden files) and programs the same
// objects into a network namespace over netlink with github.com/google/nftables.
//
// Both outputs come from one intermediate model (table.go): a table of sets,
// maps and chains whose rules are lists of small statements, each of which
// knows its nft text and its netlink expressions (table_stmt.go). Text and
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
//     table's chain list, whatever it changes (plan_shared.go).
//   - Endpoints: four endpoint maps (cluster and local lists, keyed by
//     entry address or by NodePort) map entry key . slot to the endpoint's
//     address . port; slots 0..N-1 hold the N endpoints, in list order
//     when a port is first built, and a rebuilt port keeps its endpoints'
//     slots so a change of k endpoints changes O(k) elements (plan_slots.go).
//     The shared chain
//     dnat-N (local-dnat-N) does `dnat to <entry key> . numgen random mod
//     N map @...`. Replacing an endpoint changes elements only: the kernel
//     revalidates the table's rules only when a rule or a verdict changes.
//     Sharing the DNAT chains keeps the maps' bindings few. A port with a
//     long list (ownDNATMin endpoints or more) has its own svc-, ext- and
//     dnat- chains instead, whose DNAT rules draw modulo a length fixed
//     over a range of list lengths and draw again when a slot is empty
//     (sampledModuli), so that a change of its length changes elements
//     only: each new rule that looks a map up makes the kernel walk that
//     map.
//   - Hairpin: one postrouting rule marks DNATed packets whose source .
//     destination is in the hairpin set of endpoint address pairs; the
//     set's elements are shared by the ports that select an endpoint and
//     reference-counted (plan_elemindex.go).
//   - Session affinity keeps per-endpoint chains: a dynamic timeout set per
//     endpoint and chained `numgen random mod K` rules.
//
// Plan decides one transaction per family's table; Commit sends both in
// one netlink batch (atomic). The planner compares the wanted model with a
// baseline: the model committed last while the kernel state is known
// (backend.State; after Reconcile only if the ruleset generation shows no
// other commit since svcnat's), else (first plan, after a failed commit)
// the kernel's table read back, so that only differences are sent. The
// plan refers to the new model; it copies nothing. When
// there is nothing to compare with, or the kernel's table cannot be
// compared, it replaces the whole table in that one batch.
//
// The model is one fragment per service port (plan_fragment.go), kept
// between calls in a chunked, copy-on-write list (plan_fraglist.go).
// Told which ports changed (Plan's change list), the builder rebuilds only
// those fragments, so a one-endpoint sync costs the same at 50k Services
// as at 1k. Endpoint-map and hairpin elements are derived from a
// fragment's port when needed, not stored, and a full sync streams them
// into the batch (plan_replace.go).
//
// # Testing without root
//
// NewWithKernel runs the Backend over any nfnl.Kernel. internal/nfnlfake
// is an nf_tables kernel in memory: it applies each batch all or nothing
// with the kernel's existence and reference rules (and errnos), gives
// tables back through the same Reader as netlink, so Reconcile's
// comparison runs too, and lists them (Listing). Its tracer sends a
// packet through the programmed table hook by hook, evaluating the
// rules' expressions as the kernel does (numgen reports every endpoint),
// and Summarize turns that into the facts of a packet-flow table. With
// it, TestScenarioFlowsProgrammed checks every scenario's flow table
// against what the backend really programs, and TestConvergence replays
// the scenarios through one backend in random orders, comparing the
// kernel with a fresh build after every sync, all without root. The
// same tables run as real traffic in network namespaces as root
// (traffic_test.go).
//
// # Layers and files
//
// The table model and its codecs (table*.go) know nothing of Rulesets,
// models or the kernel; the planner (plan*.go) builds models and decides
// transactions; internal/nfnl does the kernel I/O. backend*.go wires them
// behind backend.Backend.
//
//	table.go            table, set, elem, chain, rule, verdict: the table model
//	table_stmt.go       rule statements, each with its nft text and netlink expressions
//	table_names.go      fixed set, map and chain names; names and comments made from input
//	table_elems.go      elements: nft text, netlink encoding and decoding side by side
//	table_rules.go      rules: nft text, netlink encoding, matching a rule the kernel dumped
//	table_netlink.go    set and chain declarations, the netlink emitter
//	table_text.go       nft text of sets, chains and tables (Render); the text emitter (Plan.String)
//	plan.go             plan: baseline + next model -> one transaction, emitted in one place
//	plan_model.go       model: a family's table as fixed part + one fragment per port
//	plan_build.go       buildModel, the one builder (all ports, or a change list)
//	plan_fixed.go       params and the fixed part: base chains, fixed sets, shared maps
//	plan_shared.go      shared chains (svc-N, ext-N, dnat-N, ...) and their rules
//	plan_fragment.go    fragment: what one service port adds; its derived elements
//	plan_fragbuild.go   building a service port's fragment
//	plan_slots.go       stable endpoint slots across rebuilds
//	plan_fraglist.go    the chunked, copy-on-write fragment list
//	plan_elemindex.go   which port owns each map key; hairpin reference counts
//	plan_diff.go        diff(from, next), tableDiff over a tableView, delta and its emission
//	plan_fastdiff.go    the diff by changed ports between two models
//	plan_kernel.go      the kernel's table read back as a baseline (a tableView)
//	plan_replace.go     replaceTable, the one fallback: create the table from scratch
//	backend.go          Backend: New, Plan, Commit, Reconcile, Cleanup, Close
//	kernel.go           NewWithKernel: the Backend over any nfnl.Kernel (the fake, in tests)
//	backend_counts.go   TableCounts: rules and elements of the applied tables
//	backend_inspect.go  Inspect: counts read from the kernel
//	kubeproxy.go        CleanupKubeProxy: delete kube-proxy's nftables tables
//	internal/nfnl/      kernel I/O: batches, table reads, generation (see its doc.go)
//	internal/nfnlfake/  the kernel in memory, its tracer and listing (see its doc.go)
package nftables
