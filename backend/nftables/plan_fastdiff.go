package nftables

import (
	"net/netip"
	"slices"
	"strings"
)

// hairpinDelta compares the hairpin keys of a changed port once.
func (ch *fragChange) hairpinDelta() *hairpinDelta {
	if ch.hairpin == nil {
		add, del := keyedDiff(ch.prev.hairpinAddrs(), ch.next.hairpinAddrs(), netip.Addr.Compare)
		ch.hairpin = &hairpinDelta{add, del}
	}
	return ch.hairpin
}

// fragChange is one service port that is new, changed or gone (nil side).
type fragChange struct {
	prev, next *fragment
	// hairpin is the hairpin keys next gains and loses, when fastDelta
	// compared them; commit reuses it (a big Service has many).
	hairpin *hairpinDelta
}

type hairpinDelta struct{ add, del []netip.Addr }

// fastDelta compares two models fragment by fragment: unchanged ports are
// the same *fragment (buildModel reused it) and cost one pointer compare.
// It returns false when only the whole-table comparison is exact: Ruleset
// wide fields changed, a set declaration changed, or map keys move between
// ports.
func fastDelta(prev, next *model, idx *elemIndex) (*delta, bool) {
	if prev.params != next.params || idx == nil || idx.dups {
		return nil, false
	}
	changes, ok := fragChanges(prev, next)
	if !ok {
		return nil, false
	}
	d := &delta{}
	d.sharedDelta(prev, next)
	if prev.fixed != next.fixed {
		for i, s := range next.fixed.sets {
			d.setDiff(prev.fixed.sets[i], s)
		}
	}
	maps := map[string]*set{}
	for _, s := range next.fixed.sets {
		maps[s.name] = s
	}
	adds, dels := map[string][]elem{}, map[string][]elem{}
	newKeys := map[mapKey]bool{}
	shared := sharedChanges{}
	for i := range changes {
		ch := &changes[i]
		if !d.fragDiff(ch.prev, ch.next) {
			return nil, false
		}
		add, del := fragElemDiff(ch)
		add, del = shared.take(add, +1), shared.take(del, -1)
		for _, e := range add {
			if k := keyOf(e); !derivedSet(e.set) {
				if o, ok := idx.owner[k]; (ok && (ch.next == nil || o != ch.next.sp.ID)) || newKeys[k] {
					return nil, false
				}
				newKeys[k] = true
			}
			adds[e.set] = append(adds[e.set], e.elem)
		}
		for _, e := range del {
			dels[e.set] = append(dels[e.set], e.elem)
		}
	}
	shared.resolve(idx, adds, dels)
	for _, m := range sharedMaps {
		if es := dels[m.name]; len(es) > 0 {
			d.dels = append(d.dels, setElems{maps[m.name], es})
		}
		if es := adds[m.name]; len(es) > 0 {
			d.adds = append(d.adds, setElems{maps[m.name], es})
		}
	}
	return d, true
}

// sharedChanges sums, per element of a shared set, how many changed ports
// gained (+) or lost (-) it.
type sharedChanges map[mapKey]*sharedChange

type sharedChange struct {
	e     mapElem
	delta int
}

// take records the shared-set elements of es and returns the others.
func (sc sharedChanges) take(es []mapElem, sign int) []mapElem {
	out := es[:0:0]
	for _, e := range es {
		if !sharedSet(e.set) {
			out = append(out, e)
			continue
		}
		k := keyOf(e)
		if sc[k] == nil {
			sc[k] = &sharedChange{e: e}
		}
		sc[k].delta += sign
	}
	return out
}

// resolve adds an element that no port held before and deletes one that no
// port holds any more; other reference changes send nothing.
func (sc sharedChanges) resolve(idx *elemIndex, adds, dels map[string][]elem) {
	for _, c := range sc {
		before := idx.refs.get(c.e.addr) // shared elements are the hairpin set's
		switch after := before + c.delta; {
		case before == 0 && after > 0:
			adds[c.e.set] = append(adds[c.e.set], c.e.elem)
		case before > 0 && after <= 0:
			dels[c.e.set] = append(dels[c.e.set], c.e.elem)
		}
	}
	for _, m := range []map[string][]elem{adds, dels} {
		for name, es := range m {
			if sharedSet(name) {
				slices.SortFunc(es, elemCmp)
			}
		}
	}
}

// fragChanges returns the service ports whose fragment differs between
// prev and next (new and changed ones as in next, then the ones gone), as
// recorded when next was built from prev; false when it was not, and only
// the whole-table comparison is exact.
func fragChanges(prev, next *model) ([]fragChange, bool) {
	return next.changes, prev != nil && next.changesFrom == prev
}

// fragDiff adds the chain and set changes of one service port. A nil side
// means the port is new or gone. It returns false when a set keeps its
// name but changes its declaration (the table must be replaced).
func (d *delta) fragDiff(prev, next *fragment) bool {
	var pc, nc []*chain
	var ps, ns []*set
	if prev != nil {
		pc, ps = prev.chains, prev.sets
	}
	if next != nil {
		nc, ns = next.chains, next.sets
	}
	prevChains, nextChains := chainsByName(pc), chainsByName(nc)
	for _, c := range nc {
		switch p := prevChains[c.name]; {
		case p == nil:
			d.newChains = append(d.newChains, c)
		case !sameRules(p, c):
			d.changed = append(d.changed, c)
		}
	}
	for _, c := range pc {
		if nextChains[c.name] == nil {
			d.goneChain = append(d.goneChain, c)
		}
	}
	prevSets, nextSets := setsByName(ps), setsByName(ns)
	for _, s := range ns {
		switch p := prevSets[s.name]; {
		case p == nil:
			d.newSets = append(d.newSets, s)
		case !sameDecl(p, s):
			return false
		}
	}
	for _, s := range ps {
		if nextSets[s.name] == nil {
			d.goneSets = append(d.goneSets, s)
		}
	}
	return true
}

// chainsByName and setsByName index a port's chains and sets: a port with
// session affinity has one of each per endpoint, so a search per object
// would be quadratic in its endpoints.
func chainsByName(cs []*chain) map[string]*chain {
	m := make(map[string]*chain, len(cs))
	for _, c := range cs {
		m[c.name] = c
	}
	return m
}

func setsByName(ss []*set) map[string]*set {
	m := make(map[string]*set, len(ss))
	for _, s := range ss {
		m[s.name] = s
	}
	return m
}

// fragElemDiff compares the map elements of one service port. A port
// that is new or gone adds or deletes all of them (sorted by set, then
// key); a changed port is compared part by part, in time linear in its
// endpoints and without sorting them: its own elements, its hairpin keys,
// then its endpoint lists slot by slot (elemDiffChanged).
func fragElemDiff(ch *fragChange) (add, del []mapElem) {
	prev, next := ch.prev, ch.next
	if prev == nil || next == nil {
		var pe, ne []mapElem
		if prev != nil {
			pe = prev.allElems()
		}
		if next != nil {
			ne = next.allElems()
		}
		return keyedDiff(pe, ne, mapElemCmp)
	}
	return elemDiffChanged(ch)
}

func elemDiffChanged(ch *fragChange) (add, del []mapElem) {
	prev, next := ch.prev, ch.next
	add, del = keyedDiff(prev.elems, next.elems, mapElemCmp)
	h := ch.hairpinDelta()
	for _, a := range h.add {
		add = append(add, hairpinElem(a))
	}
	for _, a := range h.del {
		del = append(del, hairpinElem(a))
	}
	addTo := func(e mapElem) { add = append(add, e) }
	delTo := func(e mapElem) { del = append(del, e) }
	for _, local := range []bool{false, true} {
		pl, pok := prev.mapList(local)
		nl, nok := next.mapList(local)
		switch {
		case pok && nok:
			slotDiff(endpointElems(&prev.sp, pl), endpointElems(&next.sp, nl), addTo, delTo)
		case pok:
			eachEndpointElem(&prev.sp, pl, delTo)
		case nok:
			eachEndpointElem(&next.sp, nl, addTo)
		}
	}
	return add, del
}

// mapList returns f's endpoint list that fills the endpoint maps of the
// cluster (local false) or local endpoints, if it has one.
func (f *fragment) mapList(local bool) (epList, bool) {
	for _, l := range f.lists {
		if l.maps && l.local == local {
			return l, true
		}
	}
	return epList{}, false
}

// slotDiff compares two endpoint lists of one port slot by slot: with
// the same keys only the slots whose endpoint differs change (and those
// past the shorter list); otherwise every element does.
func slotDiff(p, n epElems, add, del func(mapElem)) {
	np, nn := len(p.l.endpoints(p.sp)), len(n.l.endpoints(n.sp))
	if !p.sameKeys(&n) {
		for i := range np {
			p.slot(i, del)
		}
		for i := range nn {
			n.slot(i, add)
		}
		return
	}
	for i := range max(np, nn) {
		switch {
		case i >= nn:
			p.slot(i, del)
		case i >= np:
			n.slot(i, add)
		case p.target(i) != n.target(i):
			p.slot(i, del)
			n.slot(i, add)
		}
	}
}

// mapElemCmp orders a fragment's elements: by set, then key.
func mapElemCmp(x, y mapElem) int {
	if x.set != y.set {
		return strings.Compare(x.set, y.set)
	}
	return elemCmp(x.elem, y.elem)
}

// sharedDelta adds the shared chains that appear or go away between two
// models with the same params to d (new chains are created before the
// rules that go to them, gone ones deleted after, by delta.emit).
func (d *delta) sharedDelta(prev, next *model) {
	for i, r := range next.refs {
		if _, ok := slices.BinarySearchFunc(prev.refs, r, sharedRefCmp); !ok {
			d.newChains = append(d.newChains, next.shared[i])
		}
	}
	for i, r := range prev.refs {
		if _, ok := slices.BinarySearchFunc(next.refs, r, sharedRefCmp); !ok {
			d.goneChain = append(d.goneChain, prev.shared[i])
		}
	}
}
