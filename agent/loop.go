package agent

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/agent/conntrack"
	"github.com/svcnat/svcnat/agent/healthcheck"
	"github.com/svcnat/svcnat/agent/metrics"
	"github.com/svcnat/svcnat/agent/runner"
	"github.com/svcnat/svcnat/agent/source"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// sync is the runner's work function: one snapshot, one Build, one Apply.
func (a *Agent) sync(ctx context.Context, why runner.Reason) error {
	start := a.cfg.Clock.Now()
	// Every sync is work the health status waits for: a periodic sync
	// that keeps failing makes the agent unhealthy even when nothing
	// changes.
	a.health.Queued()
	a.health.SyncStarted()
	a.metrics.ServiceChangesPending.Set(0)
	a.metrics.EndpointChangesPending.Set(0)

	st := a.src.Snapshot()
	in := a.slices.Compact(st.Input)
	res := a.builder.Build(in, a.synthConfig(st))
	a.reportWarnings(res.Warnings)
	a.health.SetNodeEligible(nodeEligible(in.Nodes, a.cfg.Synth.NodeName))
	rs := res.Rulesets()
	fams := a.noteFamilies(rs)
	if why.Full() {
		// Compare against the kernel: repairs tampering, and after a
		// failure the backend's cache cannot be trusted.
		a.be.Reconcile()
	}
	a.unapplied = a.unapplied.Merge(res.Changed)
	stats, err := a.apply(ctx, rs)
	if err != nil {
		return a.syncFailed(fams, start, why, err)
	}
	applied := a.unapplied // what changed since a.applied
	if why.Full() {
		applied = nil // compare everything: the safety net for a wrong change list
	}
	a.unapplied = &synth.Changes{}
	a.health.SyncSucceeded(fams...)
	a.afterApply(ctx, rs, applied, in.Slices)
	a.observe(fams, start, stats, rs)
	a.log.V(2).Info("Synced", "full", stats.Full, "changes", stats.Changes,
		"rules", stats.Rules, "elements", stats.Elements, "duration", a.cfg.Clock.Since(start))
	a.readyOnce.Do(func() {
		// Operators time a node's start from this line (kube-proxy logs
		// its syncs only at -v=2).
		a.log.Info("First sync applied", "sinceStart", a.cfg.Clock.Since(a.started).Round(time.Millisecond),
			"duration", a.cfg.Clock.Since(start).Round(time.Millisecond), "rules", stats.Rules, "elements", stats.Elements)
		close(a.ready)
	})
	return nil
}

// syncFailed records a failed apply and returns the runner's error.
func (a *Agent) syncFailed(fams []string, start time.Time, why runner.Reason, err error) error {
	a.observeDuration(fams, start, why.Full())
	a.health.SyncFailed()
	for _, f := range fams {
		a.metrics.SyncFailed(f, !why.Full())
	}
	a.status.failed(a.cfg.Clock.Now(), err)
	a.log.Error(err, "Sync failed; retrying with backoff", "full", why.Full())
	return fmt.Errorf("apply %s rules: %w", a.be.Name(), err)
}

// noteFamilies returns the ip_family label values of rs's families and
// remembers them for Changed. The first time, the last-queued time is the
// agent's start (kube-proxy: "as the informers are syncing").
func (a *Agent) noteFamilies(rs []*synth.Ruleset) []string {
	var fams []string
	for _, r := range rs {
		if r != nil {
			f := metrics.IPFamily(r.Family)
			fams = append(fams, f)
			a.metrics.InitFamily(f)
		}
	}
	if a.families.Swap(&fams) == nil {
		a.setLastQueued(a.started)
	}
	return fams
}

// apply plans the sync, telling the backend which service ports changed
// (its sync then costs work in proportion to the change), and commits the
// plan. At -v=4 the plan's operations are logged first, so that a failed
// commit shows what it tried.
func (a *Agent) apply(ctx context.Context, rs []*synth.Ruleset) (backend.Stats, error) {
	p, err := a.be.Plan(ctx, rs, a.unapplied)
	if err != nil {
		return backend.Stats{}, fmt.Errorf("plan: %w", err)
	}
	if v := a.log.V(4); v.Enabled() {
		v.Info("Sync plan", "full", p.Full(), "empty", p.Empty(), "operations", p.String())
	}
	return a.be.Commit(ctx, p)
}

// synthConfig fills the service ranges from ServiceCIDR objects when none
// are configured.
func (a *Agent) synthConfig(st source.State) synth.Config {
	cfg := a.cfg.Synth
	if len(cfg.ServiceCIDRs) == 0 && len(st.ServiceCIDRs) > 0 {
		cfg.ServiceCIDRs = st.ServiceCIDRs
	}
	return cfg
}

// afterApply does what must follow the new rules being in place. changed
// names the ports that may differ from a.applied (nil: not known).
func (a *Agent) afterApply(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes, slices []*synth.EndpointSlice) {
	a.cleanConntrack(ctx, rs, changed)
	a.reportListenErrors(a.svcHC.Sync(healthcheck.FromRulesets(rs)))
	a.observeProgramming(slices)
	if a.noLocal == nil {
		a.noLocal = noLocalTally{}
	}
	a.noLocal.update(a.applied, rs, changed)
	a.applied = rs
}

// cleanConntrack deletes entries the change made stale, one IP family at
// a time (kube-proxy's conntrack reconciler metrics are per family).
// Failures are logged, not retried: stale entries then expire by
// themselves.
func (a *Agent) cleanConntrack(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes) {
	flows := conntrack.ChangesOf(a.applied, rs, changed)
	for _, fam := range []synth.Family{synth.IPv4, synth.IPv6} {
		var of []conntrack.Flow
		for _, f := range flows {
			if f.Family == fam {
				of = append(of, f)
			}
		}
		if len(of) == 0 {
			continue
		}
		start := a.cfg.Clock.Now()
		n, err := a.cfg.Conntrack.Delete(of)
		label := metrics.IPFamily(fam)
		a.metrics.ConntrackReconcileLatency.WithLabelValues(label).Observe(a.cfg.Clock.Since(start).Seconds())
		a.metrics.ConntrackDeletedEntriesTotal.WithLabelValues(label).Add(float64(n))
		if err != nil {
			a.metrics.ConntrackErrors.Inc()
			a.log.Error(err, "Conntrack cleanup", "family", fam, "filters", len(of))
			continue
		}
		a.log.V(4).Info("Conntrack cleanup", "family", fam, "filters", len(of), "deleted", n)
	}
}

// observeDuration records how long a sync took, for every family (svcnat
// programs them all in one sync).
func (a *Agent) observeDuration(fams []string, start time.Time, full bool) {
	d := a.cfg.Clock.Since(start).Seconds()
	for _, f := range fams {
		a.metrics.SyncProxyRulesLatency.WithLabelValues(f).Observe(d)
		if full {
			a.metrics.SyncFullProxyRulesLatency.WithLabelValues(f).Observe(d)
		} else {
			a.metrics.SyncPartialProxyRulesLatency.WithLabelValues(f).Observe(d)
		}
	}
}

// observe updates the metrics and the status of a successful sync.
func (a *Agent) observe(fams []string, start time.Time, stats backend.Stats, rs []*synth.Ruleset) {
	a.observeDuration(fams, start, stats.Full)
	now := a.cfg.Clock.Now()
	for _, f := range fams {
		a.metrics.SyncProxyRulesLastTimestamp.WithLabelValues(f).Set(unixSeconds(now))
	}
	a.metrics.Rules.Set(float64(stats.Rules))
	a.metrics.Elements.Set(float64(stats.Elements))
	a.metrics.Changes.Add(float64(stats.Changes))
	for _, r := range rs {
		if r == nil {
			continue
		}
		c := a.noLocal[r.Family]
		f := metrics.IPFamily(r.Family)
		a.metrics.NoLocalEndpointsTotal.WithLabelValues(metrics.PolicyInternal, f).Set(float64(c.internal))
		a.metrics.NoLocalEndpointsTotal.WithLabelValues(metrics.PolicyExternal, f).Set(float64(c.external))
	}
	a.status.synced(now, a.familyStatus(rs, stats))
}

// observeProgramming records network programming latency for every
// EndpointSlice whose last-change-trigger-time is newer than the one
// programmed before. Like kube-proxy, trigger times from before the agent
// started are ignored: they measure the downtime, not the programming.
// Only slice objects that are new since the last call can carry a new
// time (sources replace a changed object and list each slice name once),
// so after the first call only those are read.
func (a *Agent) observeProgramming(slices []*synth.EndpointSlice) {
	added, removed, ok := synth.ListChanges(a.programmed, slices)
	if a.programmed == nil || !ok {
		added, removed = slices, nil
		a.triggers = map[string]time.Time{}
	}
	a.programmed = slices
	before := make(map[string]time.Time, len(added))
	for _, s := range added {
		key := s.Namespace + "/" + s.Name
		before[key] = a.triggers[key]
	}
	for _, s := range removed {
		delete(a.triggers, s.Namespace+"/"+s.Name)
	}
	now := a.cfg.Clock.Now()
	for _, s := range added {
		t := s.TriggerTime
		if t.IsZero() {
			continue
		}
		key := s.Namespace + "/" + s.Name
		a.triggers[key] = t
		if t.After(before[key]) && !t.Before(a.started) {
			fam := metrics.IPFamily(synth.IPv4)
			if s.AddressType == discoveryv1.AddressTypeIPv6 {
				fam = metrics.IPFamily(synth.IPv6)
			}
			a.metrics.NetworkProgrammingLatency.WithLabelValues(fam).Observe(now.Sub(t).Seconds())
		}
	}
}

// reportWarnings logs each warning once, when it first appears, and keeps
// the per-reason gauge current.
func (a *Agent) reportWarnings(ws []synth.Warning) {
	a.metrics.Warnings.Reset()
	seen := make(map[string]bool, len(ws))
	for _, w := range ws {
		key := w.String()
		seen[key] = true
		a.metrics.Warnings.WithLabelValues(w.Reason).Inc()
		if !a.warnings[key] {
			a.metrics.WarningsTotal.WithLabelValues(w.Reason).Inc()
			a.log.Info("Skipping input", "object", w.Object, "reason", w.Reason, "message", w.Message)
		}
	}
	a.warnings = seen
	a.status.warned(ws)
}

// nodeEligible is false while this node is being deleted, so /healthz
// drains it from load balancers (kube-proxy does the same).
func nodeEligible(nodes []*corev1.Node, name string) bool {
	for _, n := range nodes {
		if n.Name != name {
			continue
		}
		if n.DeletionTimestamp != nil {
			return false
		}
		for _, t := range n.Spec.Taints {
			if t.Key == "ToBeDeletedByClusterAutoscaler" {
				return false
			}
		}
	}
	return true
}
