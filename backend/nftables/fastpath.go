package nftables

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// lookup finds the fragment of service port id, trying position i first:
// when no port was added or removed, every port is where it was.
func (m *model) lookup(i int, id string) *fragment {
	if i < m.frags.len() {
		if f := m.frags.at(i); f.sp.ID == id {
			return f
		}
	}
	if m.byID == nil {
		m.byID = make(map[string]*fragment, m.frags.len())
		for _, f := range m.frags.all() {
			m.byID[f.sp.ID] = f
		}
	}
	return m.byID[id]
}

// mapKey identifies an element of a shared map.
type mapKey struct {
	set   string
	addr  netip.Addr
	proto synth.Protocol
	port  uint16
	slot  uint32
}

func keyOf(e mapElem) mapKey { return mapKey{e.set, e.addr, e.proto, e.port, e.slot} }

// elemIndex records which service port owns each key of the shared maps,
// so the fast path can tell a new key from one another port already holds
// (the whole-table path then decides, first port wins). Keys of derived
// sets (the endpoint maps, most of the elements) are not recorded.
type elemIndex struct {
	owner map[mapKey]string // service port ID
	dups  bool              // some key has two owners: use the whole-table path
	refs  map[mapKey]int    // elements of shared sets: how many ports hold each
}

func newElemIndex(m *model) *elemIndex {
	x := &elemIndex{owner: map[mapKey]string{}, refs: map[mapKey]int{}}
	for _, f := range m.frags.all() {
		x.add(f)
	}
	return x
}

func (x *elemIndex) add(f *fragment) {
	for _, k := range f.hairpinKeys() {
		x.refs[k]++
	}
	x.addOwned(f)
}

// addOwned records the keys f owns, noting a key another port holds.
func (x *elemIndex) addOwned(f *fragment) {
	for _, e := range f.elems { // derived elements have no owner of their own
		k := keyOf(e)
		if o, ok := x.owner[k]; ok && o != f.sp.ID {
			x.dups = true
			continue
		}
		x.owner[k] = f.sp.ID
	}
}

func (x *elemIndex) remove(f *fragment) {
	for _, k := range f.hairpinKeys() {
		if x.refs[k]--; x.refs[k] <= 0 {
			delete(x.refs, k)
		}
	}
	for _, e := range f.elems {
		k := keyOf(e)
		if x.owner[k] == f.sp.ID {
			delete(x.owner, k)
		}
	}
}

// fragChange is one service port that is new, changed or gone (nil side).
type fragChange struct{ prev, next *fragment }

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
	for _, ch := range changes {
		if !d.fragDiff(ch.prev, ch.next) {
			return nil, false
		}
		add, del := fragElemDiff(ch.prev, ch.next)
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
	for k, c := range sc {
		before := idx.refs[k]
		switch after := before + c.delta; {
		case before == 0 && after > 0:
			adds[k.set] = append(adds[k.set], c.e.elem)
		case before > 0 && after <= 0:
			dels[k.set] = append(dels[k.set], c.e.elem)
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
	for _, c := range nc {
		switch p := findChain(pc, c.name); {
		case p == nil:
			d.newChains = append(d.newChains, c)
		case !sameRules(p, c):
			d.changed = append(d.changed, c)
		}
	}
	for _, c := range pc {
		if findChain(nc, c.name) == nil {
			d.goneChain = append(d.goneChain, c)
		}
	}
	for _, s := range ns {
		switch p := findSet(ps, s.name); {
		case p == nil:
			d.newSets = append(d.newSets, s)
		case !sameDecl(p, s):
			return false
		}
	}
	for _, s := range ps {
		if findSet(ns, s.name) == nil {
			d.goneSets = append(d.goneSets, s)
		}
	}
	return true
}

func findChain(cs []*chain, name string) *chain {
	for _, c := range cs {
		if c.name == name {
			return c
		}
	}
	return nil
}

func findSet(ss []*set, name string) *set {
	for _, s := range ss {
		if s.name == name {
			return s
		}
	}
	return nil
}

// fragElemDiff compares the map elements of one service port (both lists
// sorted by set, then key).
func fragElemDiff(prev, next *fragment) (add, del []mapElem) {
	var pe, ne []mapElem
	if prev != nil {
		pe = prev.allElems()
	}
	if next != nil {
		ne = next.allElems()
	}
	return keyedDiff(pe, ne, mapElemCmp)
}

// mapElemCmp orders a fragment's elements: by set, then key.
func mapElemCmp(x, y mapElem) int {
	if x.set != y.set {
		return strings.Compare(x.set, y.set)
	}
	return elemCmp(x.elem, y.elem)
}
