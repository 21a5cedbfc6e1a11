package synth

import (
	"net/netip"
	"slices"
)

// familyState is the Builder's output of one family and what keeps it
// current: who wants each entry point, and the ClusterIPs in use.
type familyState struct {
	family  Family
	ports   []*ServicePort // the last Result's Services, sorted by name; they point into the entries' claimed ports
	ipCount map[netip.Addr]int
	ips     []netip.Addr // sorted; nil when empty, like Build's
	// ipsShared: a Ruleset holds ips, so it is copied before it changes
	// (it changes only when Services come or go, not per endpoint).
	ipsShared bool
	holders   map[claimKey][]*serviceEntry
}

func newFamilyState(f Family) *familyState {
	return &familyState{family: f, ports: []*ServicePort{}, ipCount: map[netip.Addr]int{}, holders: map[claimKey][]*serviceEntry{}}
}

func (fs *familyState) ruleset(cfg Config, node nodeFacts) *Ruleset {
	rs := newRuleset(fs.family, cfg, node)
	rs.ClusterIPs, fs.ipsShared = fs.ips, true
	rs.Services = fs.ports
	return rs
}

// update takes gone entries out and added ones in, settles the claims
// again where they may have changed, and returns the entries whose claims
// were settled again (their claim warnings may differ).
//
// Claims interact only through shared entry points: which port wins a
// key depends only on the ports that want that key, in age order, and on
// whether each of them won its ClusterIP key first, which depends on the
// ports wanting that one. So the claims are replayed over the entries
// connected to a changed entry through shared keys, and nowhere else;
// that replay gives what a replay of every entry would.
func (fs *familyState) update(gone, added []*serviceEntry, changed *Changes) []*serviceEntry {
	f, fi := fs.family, fs.family.index()
	fs.updateIPs(gone, added)
	touched := map[claimKey]bool{}
	var drop []ServicePortName
	for _, e := range gone {
		if e.info == nil {
			continue
		}
		for _, k := range e.keys[fi] {
			fs.holders[k] = slices.DeleteFunc(fs.holders[k], func(h *serviceEntry) bool { return h == e })
			if len(fs.holders[k]) == 0 {
				delete(fs.holders, k)
			}
			touched[k] = true
		}
		for i := range e.claimed[fi] {
			drop = append(drop, e.claimed[fi][i].Name)
		}
		if changed != nil {
			changed.addPorts(f, e.ports[fi])
		}
	}
	isNew := make(map[*serviceEntry]bool, len(added))
	for _, e := range added {
		isNew[e] = true
		if e.info == nil {
			continue
		}
		e.keys[fi] = candidateKeys(e.ports[fi])
		for _, k := range e.keys[fi] {
			fs.holders[k] = append(fs.holders[k], e)
			touched[k] = true
		}
		if changed != nil {
			changed.addPorts(f, e.ports[fi])
		}
	}
	group := fs.connected(touched)
	var claimed []*ServicePort
	claims := claimSet{}
	for _, e := range group {
		old := e.claimed[fi]
		w := &warnings{}
		kept := claimPorts(claims, e.ports[fi], e.info.object, w)
		e.claimed[fi], e.claimWarn[fi] = kept, w.list
		for i := range kept {
			claimed = append(claimed, &kept[i])
		}
		for i := range old {
			drop = append(drop, old[i].Name)
		}
		if changed != nil && !isNew[e] && !samePorts(old, kept) {
			changed.addPorts(f, e.ports[fi])
		}
	}
	fs.ports = mergePorts(fs.ports, drop, claimed)
	return group
}

// claimPorts claims the entry points of ports in claims and returns what
// the claims left of them: ports itself when they left every port whole
// (the common case, which then costs no copy of the ports), else trimmed
// copies. ports is never modified.
func claimPorts(claims claimSet, ports []ServicePort, object string, w *warnings) []ServicePort {
	var kept []ServicePort
	whole := true
	for i := range ports {
		sp := ports[i] // a copy: claims may trim it
		if !claims.claim(&sp, object, w) {
			whole = false
			continue
		}
		whole = whole && sp.NodePort == ports[i].NodePort &&
			len(sp.ExternalIPs) == len(ports[i].ExternalIPs) && len(sp.LoadBalancerIPs) == len(ports[i].LoadBalancerIPs)
		kept = append(kept, sp)
	}
	if whole && len(ports) > 0 {
		return ports
	}
	return kept
}

// connected returns the entries that want any of keys, or any key of
// those, and so on, oldest first.
func (fs *familyState) connected(keys map[claimKey]bool) []*serviceEntry {
	queue := make([]claimKey, 0, len(keys))
	for k := range keys {
		queue = append(queue, k)
	}
	seen := map[*serviceEntry]bool{}
	var group []*serviceEntry
	for len(queue) > 0 {
		k := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, e := range fs.holders[k] {
			if seen[e] {
				continue
			}
			seen[e] = true
			group = append(group, e)
			for _, k2 := range e.keys[fs.family.index()] {
				if !keys[k2] {
					keys[k2] = true
					queue = append(queue, k2)
				}
			}
		}
	}
	slices.SortFunc(group, func(a, b *serviceEntry) int { return olderFirst(a.info.svc, b.info.svc) })
	return group
}

func (e *serviceEntry) clusterIP(f Family) (netip.Addr, bool) {
	if e.info == nil {
		return netip.Addr{}, false
	}
	return e.info.clusterIP(f)
}

// candidateKeys are the entry points ports want (claimSet.claim's keys).
func candidateKeys(ports []ServicePort) []claimKey {
	var keys []claimKey
	for i := range ports {
		sp := &ports[i]
		keys = append(keys, claimKey{sp.ClusterIP, sp.Name.Protocol, sp.Port})
		if sp.NodePort != 0 {
			keys = append(keys, claimKey{proto: sp.Name.Protocol, port: sp.NodePort})
		}
		for _, a := range sp.ExternalIPs {
			keys = append(keys, claimKey{a, sp.Name.Protocol, sp.Port})
		}
		for _, a := range sp.LoadBalancerIPs {
			keys = append(keys, claimKey{a, sp.Name.Protocol, sp.Port})
		}
	}
	return keys
}

func samePorts(a, b []ServicePort) bool {
	return slices.EqualFunc(a, b, func(x, y ServicePort) bool { return x.Equal(&y) })
}

// updateIPs counts the ClusterIPs of added entries in and those of gone
// ones out, and keeps fs.ips the sorted list of those counted. A few
// changes are inserted in place; many (a first sync, a big rollout) make
// one sorted rebuild, since each insertion moves the whole list.
// (Rulesets share fs.ips: it is copied before its first change after one.)
func (fs *familyState) updateIPs(gone, added []*serviceEntry) {
	f := fs.family
	bulk := len(added)+len(gone) > 64
	// Added first: a replaced entry's ClusterIP then never leaves the list.
	for _, e := range added {
		if ip, ok := e.clusterIP(f); ok {
			fs.ipCount[ip]++
			if fs.ipCount[ip] == 1 && !bulk {
				i, _ := slices.BinarySearchFunc(fs.ips, ip, netip.Addr.Compare)
				fs.ips = slices.Insert(fs.ownIPs(), i, ip)
			}
		}
	}
	for _, e := range gone {
		if ip, ok := e.clusterIP(f); ok {
			fs.dropIP(ip, bulk)
		}
	}
	if bulk {
		fs.ips = fs.ownIPs()[:0]
		for ip := range fs.ipCount {
			fs.ips = append(fs.ips, ip)
		}
		slices.SortFunc(fs.ips, netip.Addr.Compare)
	}
	if len(fs.ips) == 0 {
		fs.ips = nil
	}
}

func (fs *familyState) dropIP(ip netip.Addr, bulk bool) {
	fs.ipCount[ip]--
	if fs.ipCount[ip] > 0 {
		return
	}
	delete(fs.ipCount, ip)
	if bulk {
		return
	}
	if i, found := slices.BinarySearchFunc(fs.ips, ip, netip.Addr.Compare); found {
		fs.ips = slices.Delete(fs.ownIPs(), i, i+1)
	}
}

// ownIPs returns fs.ips, copied first if a Ruleset shares it.
func (fs *familyState) ownIPs() []netip.Addr {
	if fs.ipsShared {
		fs.ips, fs.ipsShared = slices.Clone(fs.ips), false
	}
	return fs.ips
}

// mergePorts returns a new sorted list: old without the ports named in
// drop, with add. Names are unique in old and in add, and a name of add
// is in old only if drop names it too. Only pointers are copied.
func mergePorts(old []*ServicePort, drop []ServicePortName, add []*ServicePort) []*ServicePort {
	if len(drop) == 0 && len(add) == 0 {
		return old
	}
	byName := func(a, b ServicePortName) int { return a.Compare(b) }
	nameOf := func(sp *ServicePort, n ServicePortName) int { return sp.Name.Compare(n) }
	slices.SortFunc(drop, byName)
	slices.SortFunc(add, func(a, b *ServicePort) int { return a.Name.Compare(b.Name) })
	dropped := make([]int, 0, len(drop)) // positions in old, ascending
	for _, n := range drop {
		if i, found := slices.BinarySearchFunc(old, n, nameOf); found {
			dropped = append(dropped, i)
		}
	}
	out := make([]*ServicePort, 0, len(old)-len(dropped)+len(add))
	from := 0
	keep := func(to int) { // old[from:to] without the dropped positions
		for len(dropped) > 0 && dropped[0] < to {
			out = append(out, old[from:dropped[0]]...)
			from = dropped[0] + 1
			dropped = dropped[1:]
		}
		out = append(out, old[from:to]...)
		from = to
	}
	for i := range add {
		at, _ := slices.BinarySearchFunc(old[from:], add[i].Name, nameOf)
		keep(from + at)
		out = append(out, add[i])
	}
	keep(len(old))
	return out
}

func (c *Changes) addPorts(f Family, ports []ServicePort) {
	for i := range ports {
		c.Ports[f] = append(c.Ports[f], ports[i].Name)
	}
}
