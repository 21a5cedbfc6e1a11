// Package agent is svcnat's node agent: it keeps the rules of one network
// namespace equal to what synth.Build makes of the cluster state a Source
// delivers.
//
//	source ──Changed──▶ runner (bounded frequency) ──▶ Snapshot ─▶ synth.Build ─▶ Backend.Plan ─▶ Commit
//	                                                        └▶ conntrack cleanup, health check ports, metrics
//
// Events only mark the state dirty; the runner (package runner) syncs at
// most once per MinSyncPeriod, at least once per SyncPeriod, and retries a
// failed sync with exponential backoff (500 ms doubling to 30 s). Syncs
// never overlap. A sync takes the whole state, builds the Rulesets and
// has the backend plan them with the service ports that changed since the
// last successful commit, then commits the plan, which sends only what
// changed (incremental). At -v=4 the plan's operations are logged.
//
// Defaults and why:
//
//   - MinSyncPeriod 100 ms: a sync is cheap (a synth.Builder re-derives
//     only the Services whose objects changed; the backend sends only the difference in one
//     transaction), so the only reason to wait at all is to coalesce the
//     burst of events a single rollout produces (a Service and its slices,
//     a slice updated once per pod). 100 ms keeps network programming
//     latency far below kube-proxy's 1 s default while bounding the rate
//     at 10 syncs per second. Clusters with 50k Services can raise it.
//   - SyncPeriod 30 s, like kube-proxy: the periodic sync calls
//     Backend.Reconcile first, so it compares against the kernel and
//     repairs rules someone else changed or flushed. It is never starved by
//     a steady stream of changes.
//   - Health timeout 2×SyncPeriod, like kube-proxy. The initial state and
//     every periodic sync count as queued work too, so an agent that never
//     syncs, or whose applies keep failing, turns unhealthy.
//
// The observable surface is kube-proxy's (docs/METRICS.md): its metrics
// (package metrics), its metrics server routes (/metrics, /healthz,
// /proxyMode, /configz, /flagz, /debug/pprof/) plus /svcnat/status, its
// /healthz and /livez bodies (package healthcheck) and its Events
// (Config.EventClient, written in the background by a small recorder of
// the agent's own: client-go's links every API group's types).
//
// Start-up adopts the rules of a previous run without a gap: nothing is
// programmed before the source has synced (a partial cache would delete
// Services), and the first Apply is a full reconcile that replaces the
// table contents atomically. The agent never calls Cleanup; when Run
// returns (SIGTERM cancels its context) it closes the backend, and the
// rules stay in place so traffic keeps flowing until the next agent takes
// over.
package agent
