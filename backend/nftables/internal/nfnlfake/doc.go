// Package nfnlfake is an nf_tables kernel held in memory, for tests that
// program the nftables backend without root: Kernel implements
// nfnl.Kernel, so nftables.NewWithKernel runs the backend's planner,
// commit and reconcile paths against it unchanged. It is library code,
// like knftables' Fake, so every test of the backend (and anything built
// on it inside backend/nftables) can use it.
//
// Send decodes each message of a batch (NEWTABLE/DELTABLE,
// NEWCHAIN/DELCHAIN, NEWSET/DELSET, NEWSETELEM/DELSETELEM,
// NEWRULE/DELRULE) and applies them all or nothing: the batch works on a
// copy of the tables, which replaces them only if every message
// succeeded. It enforces the kernel's rules the planner relies on, with
// the kernel's errno:
//
//   - a missing table, chain, set, element or rule handle is ENOENT
//     (also for a rule's lookup set, jump or goto target, and a verdict
//     map element's chain); a set may be named by its NFTA_SET_ID within
//     the batch that created it;
//   - adding an existing element with the same data is a no-op, with
//     other data or NLM_F_EXCL it is EEXIST; NEWSET for an existing set
//     with another declaration and NEWCHAIN changing a base chain's hook
//     are EEXIST;
//   - deleting a chain that still has rules, or that a rule or a verdict
//     map element jumps to, is EBUSY (the oldest kernels' rule; newer
//     ones delete the rules of a chain nothing else refers to), and so is
//     deleting a set a rule uses;
//   - a jump to a base chain is EOPNOTSUPP;
//   - after a message that adds rules or elements the tables are
//     validated from every base chain, as the kernel does before it
//     acknowledges it: no deeper nesting than the jump stack (EMLINK,
//     also for a loop), dnat only in nat chains of prerouting and output,
//     masquerade only in nat postrouting, reject only in input, forward
//     and output (EOPNOTSUPP; recent kernels allow it in prerouting too).
//
// Where the fake is stricter than a current kernel it is on purpose
// (the planner must work on older kernels too), and the backend's
// TestFakeRefusesLikeTheKernel, which runs every refusal against the
// fake and, as root, against the kernel, says so case by case.
//
// A refused batch changes nothing and returns "batch message N (what it
// touched): why: errno", N counting the batch begin marker as 0, as the
// netlink Conn reports the kernel's refusals. Rules are decoded with
// google/nftables' expression types; an expression the tracer cannot
// evaluate is refused (EOPNOTSUPP) rather than kept unexplained.
// Element timeouts and expressions, object maps, chains named by ID and
// interval overlap checks are not modelled.
//
// Read gives a table back through nfnl.Reader as the kernel dumps it:
// chains and sets in creation order, and rules re-marshalled from their
// decoded form with registers as the kernel dumps them, so the
// backend's comparison with the kernel is exercised too (the backend's
// TestFakeReadsBackLikeTheKernel compares both, as root). Listing prints
// every table, objects in name order, for comparisons and failure
// messages.
//
// Trace sends a connection's first packet through the tables' base
// chains hook by hook and returns every way it can go (a numgen forks
// the evaluation once per value); Summarize reduces them to the facts of
// a packet-flow table (synth.Trace), as the iptables backend's simulator
// does.
//
// Files:
//
//	kernel.go    Kernel: Send (all or nothing), Generation, Close; refusals
//	state.go     the tables in memory and what refers to what
//	apply.go     one handler per message type
//	exprs.go     rule expressions: decoding, references, the dumped form
//	validate.go  the validation from the base chains after rules or elements are added
//	read.go      Read: the nfnl.Reader over a snapshot
//	listing.go   Listing
//	trace.go     Trace: hooks, chains, verdicts
//	eval.go      evaluating expressions against a packet
//	summary.go   Summarize: outcomes to a synth.Trace
package nfnlfake
