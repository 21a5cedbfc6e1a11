// Package backend defines the interface between svcnat's model and the
// kernel: a Backend turns synth.Rulesets into netfilter state, either as
// text (Render, for dry runs and golden files) or by programming one network
// namespace (Plan, Commit, Cleanup).
//
// Programming takes two phases. Plan computes the operations that turn
// what the kernel holds into rs; it may read the kernel but never writes
// it, and its Plan prints as text (what `svcnat diff` shows and the agent
// logs at -v=4). Commit sends one Plan atomically per table. Apply is the
// two in one call, for callers that do not look at the plan.
//
// The state machine is shared (State, state.go): the first plan, the
// first after Reconcile and the first after a failed Commit compare with
// the kernel (Plan.Full); later plans compare with what the previous
// successful Commit left, and only in the service ports the change list
// names, so a sync costs work in proportion to the change. Every
// transition refuses the plans made before it (ErrStalePlan), so a plan
// is never sent against a state it was not computed from.
//
// Implementations live in sub-packages (backend/nftables, backend/iptables).
// They only encode decisions already taken by synth (see docs/SEMANTICS.md);
// they never re-decide which endpoint serves which traffic.
package backend
