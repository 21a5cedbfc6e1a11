// Package backend defines the interface between svcnat's model and the
// kernel: a Backend turns synth.Rulesets into netfilter state, either as
// text (Render, for dry runs and golden files) or by programming one network
// namespace (Apply, Diff, Cleanup).
//
// Implementations live in sub-packages (backend/nftables, backend/iptables).
// They only encode decisions already taken by synth (see docs/SEMANTICS.md);
// they never re-decide which endpoint serves which traffic. Apply is atomic
// per table and incremental: after the first call a backend sends only what
// changed, and Reconcile makes the next call compare against the kernel
// again.
package backend
