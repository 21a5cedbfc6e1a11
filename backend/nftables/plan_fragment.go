package nftables

import (
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// fragment is everything one service port adds to a table: its chains, its
// affinity sets and its elements in the shared maps. Fragments are cached
// between syncs and rebuilt only when their ServicePort changed, so that a
// one-endpoint change costs work proportional to that one port.
type fragment struct {
	// sp is the input, compared on the next sync. It shares the input's
	// slices (Plan's contract: Rulesets are not modified afterwards); a
	// private copy of every port's endpoints was ≈ 3.5 MB at 10k Services.
	sp     synth.ServicePort
	chains []*chain  // in creation order
	sets   []*set    // affinity sets
	elems  []mapElem // dispatch and firewall elements, sorted by set, then key
	// lists are the endpoint lists the port balances over. Their elements
	// (endpoint maps, hairpin) are most of a table's and follow from sp,
	// so they are derived when needed (allElems) instead of kept.
	lists  []epList
	refs   []sharedRef // shared chains its verdicts go to
	owned  int         // its distinct elements not in shared sets
	shared int         // its distinct elements in shared sets (sharedSet)
}

// epList is an endpoint list of a port: the local or the cluster one.
// maps is false for session affinity, which balances with chains and
// uses only the hairpin set.
type epList struct {
	local, maps bool
	// slots holds, for each slot of the endpoint maps, the index of its
	// endpoint in the list; nil means slot i is endpoint i (plan_slots.go).
	slots []int32
}

func (l epList) endpoints(sp *synth.ServicePort) []synth.Endpoint {
	if l.local {
		return sp.LocalEndpoints
	}
	return sp.ClusterEndpoints
}

// mapElem is one element of a shared map (sharedMaps).
type mapElem struct {
	set string
	elem
}

// sortMapElems sorts elements by set, then key, and drops repeated keys.
// One port can name the same address twice (an external IP that is also
// its load-balancer IP): first wins, as in a whole table.
func sortMapElems(es []mapElem) []mapElem {
	slices.SortStableFunc(es, mapElemCmp)
	return slices.CompactFunc(es, func(x, y mapElem) bool { return x.set == y.set && x.sameKey(y.elem) })
}

// eachElem calls yield once for every distinct element f adds, derived
// ones included, in no particular order.
func (f *fragment) eachElem(yield func(mapElem)) {
	for _, e := range f.elems {
		yield(e)
	}
	for _, a := range f.hairpinAddrs() {
		yield(hairpinElem(a))
	}
	for _, l := range f.lists {
		if l.maps {
			eachEndpointElem(&f.sp, l, yield)
		}
	}
}

// eachElemOf is eachElem restricted to the elements of the shared map
// named set; it derives only what that map can hold.
func (f *fragment) eachElemOf(set string, yield func(elem)) {
	for _, e := range f.elems {
		if e.set == set {
			yield(e.elem)
		}
	}
	switch set {
	case setHairpin:
		for _, a := range f.hairpinAddrs() {
			yield(hairpinElem(a).elem)
		}
	case mapEndpoints, mapNPEndpoints, mapLocalEps, mapLocalNPEps:
		for _, l := range f.lists {
			if l.maps {
				eachEndpointElem(&f.sp, l, func(e mapElem) {
					if e.set == set {
						yield(e.elem)
					}
				})
			}
		}
	}
}

// allElems returns every element f adds, sorted by set, then key. The
// caller must not modify it.
func (f *fragment) allElems() []mapElem {
	if len(f.lists) == 0 {
		return f.elems
	}
	out := make([]mapElem, 0, f.owned+f.shared)
	f.eachElem(func(e mapElem) { out = append(out, e) })
	return sortMapElems(out)
}

// tallyElems sets f.owned and f.shared without making the derived elements: a
// big Service has hundreds of thousands, and a one-endpoint change must
// not enumerate them.
func (f *fragment) tallyElems() {
	f.owned, f.shared = 0, 0
	for _, e := range f.elems {
		if sharedSet(e.set) {
			f.shared++
		} else {
			f.owned++
		}
	}
	f.shared += f.hairpinCount()
	for _, l := range f.lists {
		if l.maps {
			e := endpointElems(&f.sp, l)
			perSlot := len(e.addrs)
			if e.nodePort {
				perSlot++
			}
			f.owned += perSlot * len(l.endpoints(&f.sp))
		}
	}
}

// hairpinCount is len(f.hairpinAddrs()), without allocating in the
// common case of one sorted list.
func (f *fragment) hairpinCount() int {
	if len(f.lists) != 1 {
		return len(f.hairpinAddrs())
	}
	eps := f.lists[0].endpoints(&f.sp)
	n := min(len(eps), 1)
	for i := 1; i < len(eps); i++ {
		switch c := eps[i].Addr.Unmap().Compare(eps[i-1].Addr.Unmap()); {
		case c < 0:
			return len(f.hairpinAddrs()) // not sorted
		case c > 0:
			n++
		}
	}
	return n
}

// hairpinAddrs returns the addresses f holds in the shared hairpin set,
// sorted and distinct. Endpoint lists are sorted by address (synth), so
// this is linear in the endpoints (a list that is not, possible only for
// a hand-made Ruleset, is sorted); a search per endpoint for duplicates
// made a 100k-endpoint Service take 40 s.
func (f *fragment) hairpinAddrs() []netip.Addr {
	n := 0
	for _, l := range f.lists {
		n += len(l.endpoints(&f.sp))
	}
	if n == 0 {
		return nil
	}
	addrs := make([]netip.Addr, 0, n)
	for _, l := range f.lists {
		for _, ep := range l.endpoints(&f.sp) {
			addrs = append(addrs, ep.Addr.Unmap())
		}
	}
	if len(f.lists) > 1 || !slices.IsSortedFunc(addrs, netip.Addr.Compare) {
		slices.SortFunc(addrs, netip.Addr.Compare)
	}
	return slices.Compact(addrs)
}

func hairpinKey(a netip.Addr) mapKey { return newMapKey(setHairpin, a, "", 0, 0) }

func hairpinElem(a netip.Addr) mapElem { return mapElem{setHairpin, elem{addr: a, pair: true}} }

// ownSize returns the number of rules and elements f programs, except the
// elements of shared sets, which several fragments hold (see model.ownSize).
func (f *fragment) ownSize() (rules, elems int) {
	for _, c := range f.chains {
		rules += len(c.rules)
	}
	return rules, f.owned
}
