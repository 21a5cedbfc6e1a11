package agent

import (
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// noLocalTally counts, per family, the Local-policy service ports without
// a local endpoint (kube-proxy's sync_proxy_rules_no_local_endpoints_total).
// It is kept from the ports each sync changed: counting every port of a
// 10k-Service cluster on each endpoint change is a pass over the cluster.
type noLocalTally map[synth.Family]noLocalCount

type noLocalCount struct{ internal, external int }

// update moves the tally from the rulesets prev to next; changed names the
// ports that may differ between them (nil: not known, so every port is
// counted again).
func (t noLocalTally) update(prev, next []*synth.Ruleset, changed *synth.Changes) {
	present := map[synth.Family]bool{}
	for i, rs := range next {
		if rs == nil {
			continue
		}
		present[rs.Family] = true
		var old *synth.Ruleset
		if i < len(prev) {
			old = prev[i]
		}
		if changed == nil || old == nil || old.Family != rs.Family {
			t[rs.Family] = countNoLocal(rs.Services)
			continue
		}
		c := t[rs.Family]
		names := slices.Clone(changed.Ports[rs.Family])
		slices.SortFunc(names, synth.ServicePortName.Compare)
		for _, n := range slices.Compact(names) { // a port may be named twice
			c = c.plus(noLocalOf(old, n), -1).plus(noLocalOf(rs, n), 1)
		}
		t[rs.Family] = c
	}
	for f := range t {
		if !present[f] {
			delete(t, f)
		}
	}
}

func (c noLocalCount) plus(d noLocalCount, sign int) noLocalCount {
	return noLocalCount{c.internal + sign*d.internal, c.external + sign*d.external}
}

// noLocalOf is what the port named n of rs adds to the tally (nothing
// when rs has no such port).
func noLocalOf(rs *synth.Ruleset, n synth.ServicePortName) noLocalCount {
	i, found := slices.BinarySearchFunc(rs.Services, n, func(sp *synth.ServicePort, n synth.ServicePortName) int {
		return sp.Name.Compare(n)
	})
	if !found {
		return noLocalCount{}
	}
	return countNoLocal(rs.Services[i : i+1])
}

// countNoLocal counts the ports of ports that have endpoints, none of them
// local, and a Local traffic policy.
func countNoLocal(ports []*synth.ServicePort) noLocalCount {
	var c noLocalCount
	for _, sp := range ports {
		if len(sp.LocalEndpoints) > 0 || !sp.HasEndpoints() {
			continue
		}
		if sp.InternalPolicyLocal {
			c.internal++
		}
		if sp.ExternalPolicyLocal && sp.HasExternal() {
			c.external++
		}
	}
	return c
}
