package conntrack

import (
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// ChangesOf is Changes for rulesets that differ at most in the service
// ports changed names (as synth.Builder reports them, merged since old was
// applied): only those ports are compared, so the cost follows the change,
// not the cluster. A nil changed, or a nil old, means not known: every
// port is compared (the periodic full sync does that too).
func ChangesOf(old, new []*synth.Ruleset, changed *synth.Changes) []Flow {
	if changed == nil || old == nil {
		return Changes(old, new)
	}
	var flows []Flow
	for f, names := range changed.Ports {
		prev, next := familyOf(old, f), familyOf(new, f)
		seen := make(map[synth.ServicePortName]bool, len(names))
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			o, ok1 := lookup(prev, name)
			n, ok2 := lookup(next, name)
			if !ok1 || !ok2 {
				return Changes(old, new) // a name twice in a ruleset: compare as a map would
			}
			if o != nil && tracked(o.Name.Protocol) {
				flows = append(flows, staleEndpoints(f, o, n)...)
			}
			if n != nil && n.Name.Protocol == synth.UDP {
				flows = append(flows, firstEndpoints(f, o, n)...)
			}
		}
	}
	slices.SortFunc(flows, compareFlows)
	return slices.Compact(flows)
}

func familyOf(rss []*synth.Ruleset, f synth.Family) *synth.Ruleset {
	for _, rs := range rss {
		if rs != nil && rs.Family == f {
			return rs
		}
	}
	return nil
}

// lookup finds name in rs's sorted Services (nil when absent); false when
// rs holds it twice.
func lookup(rs *synth.Ruleset, name synth.ServicePortName) (*synth.ServicePort, bool) {
	if rs == nil {
		return nil, true
	}
	i, found := slices.BinarySearchFunc(rs.Services, name, func(sp *synth.ServicePort, n synth.ServicePortName) int {
		return sp.Name.Compare(n)
	})
	if !found {
		return nil, true
	}
	if i+1 < len(rs.Services) && rs.Services[i+1].Name == name {
		return nil, false
	}
	return rs.Services[i], true
}
