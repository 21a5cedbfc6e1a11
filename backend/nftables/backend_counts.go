package nftables

import "github.com/svcnat/svcnat/synth"

// TableCounts calls fn with the rules and elements svcnat's table holds in
// each family after the last successful Commit (the agent's per-family
// status). written is 0: nftables applies are element-level, and
// kube-proxy's rules-written metric exists only for iptables.
func (b *Backend) TableCounts(fn func(fam synth.Family, table string, rules, elements, written int)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.state.Known() {
		return
	}
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		if b.applied[f] == nil {
			continue
		}
		rules, elems := b.tableSize(f)
		fn(f, TableName, rules, elems, 0)
	}
}

// tableSize returns the number of rules and elements the applied table of
// family f holds (it must have one).
func (b *Backend) tableSize(f synth.Family) (rules, elems int) {
	rules, elems = b.applied[f].ownSize()
	if idx := b.index[f]; idx != nil {
		elems += idx.refs.len()
	}
	return rules, elems
}
