package nftables

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// fragment is everything one service port adds to a table: its chains, its
// affinity sets and its elements in the shared maps. Fragments are cached
// between syncs and rebuilt only when their ServicePort changed, so that a
// one-endpoint change costs work proportional to that one port.
type fragment struct {
	sp     synth.ServicePort // a private copy of the input, compared on the next sync
	chains []*chain          // in creation order
	sets   []*set            // affinity sets
	elems  []mapElem         // dispatch and firewall elements, sorted by set, then key
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
	// endpoint in the list; nil means slot i is endpoint i (slots.go).
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

// countElems counts f's elements without making the derived ones: a
// big Service has hundreds of thousands, and a one-endpoint change must
// not enumerate them.
func (f *fragment) countElems() {
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

func hairpinKey(a netip.Addr) mapKey { return mapKey{set: setHairpin, addr: a} }

func hairpinElem(a netip.Addr) mapElem { return mapElem{setHairpin, elem{addr: a, pair: true}} }

// model is one family's table split the way it changes: a fixed part that
// depends on Ruleset-wide fields, and one fragment per service port.
type model struct {
	params  params
	fixedIn fixedInputs // what fixed was built from
	fixed   *table      // base chains and fixed sets; the shared maps are empty
	frags   fragList    // in Ruleset order
	refs    []sharedRef // shared chains the fragments use, sorted
	shared  []*chain    // their chains, built for params
	// refCount counts the fragments that use each shared chain, and
	// fragRules, fragElems total what the fragments program, so that a
	// model built from a change list (changed.go) need not visit them all.
	refCount             map[sharedRef]int
	fragRules, fragElems int

	byID map[string]*fragment // built on the first lookup that misses by position
	// changes are the ports that differ from changesFrom, the model m was
	// built from (fragChanges); commit drops both, so applied models do
	// not hold on to their predecessors.
	changes     []fragChange
	changesFrom *model
}

// fixedInputs are the Ruleset fields the fixed sets are built from (copies).
type fixedInputs struct {
	clusterIPs, nodePortAddrs  []netip.Addr
	serviceCIDRs, clusterCIDRs []netip.Prefix
}

func fixedInputsOf(rs *synth.Ruleset) fixedInputs {
	return fixedInputs{slices.Clone(rs.ClusterIPs), slices.Clone(rs.NodePortAddrs),
		slices.Clone(rs.ServiceCIDRs), slices.Clone(rs.ClusterCIDRs)}
}

func (in *fixedInputs) equal(rs *synth.Ruleset) bool {
	return slices.Equal(in.clusterIPs, rs.ClusterIPs) && slices.Equal(in.nodePortAddrs, rs.NodePortAddrs) &&
		slices.Equal(in.serviceCIDRs, rs.ServiceCIDRs) && slices.Equal(in.clusterCIDRs, rs.ClusterCIDRs)
}

// buildModel builds the model of rs, reusing what it can of prev (may be
// nil): the fixed part when its inputs are equal, and the fragment of
// every service port that did not change.
func buildModel(rs *synth.Ruleset, prev *model) (*model, error) {
	m := &model{params: paramsOf(rs)}
	if prev != nil && prev.params != m.params {
		prev = nil // every fragment depends on params
	}
	if prev != nil && prev.fixedIn.equal(rs) {
		m.fixedIn, m.fixed = prev.fixedIn, prev.fixed
	} else {
		fixed, err := fixedTable(rs)
		if err != nil {
			return nil, err
		}
		m.fixedIn, m.fixed = fixedInputsOf(rs), fixed
	}
	m.startFrom(prev)
	frags := make([]*fragment, len(rs.Services))
	matched := 0
	for i := range rs.Services {
		sp := &rs.Services[i]
		var old *fragment
		if prev != nil {
			old = prev.lookup(i, sp.ID)
		}
		if old != nil {
			matched++
			if old.sp.Equal(sp) {
				frags[i] = old
				continue
			}
		}
		f, err := buildFragment(sp, m.params, old)
		if err != nil {
			return nil, fmt.Errorf("build %s table: %w", rs.Family, err)
		}
		frags[i] = f
		m.record(old, f)
	}
	m.frags = newFragList(frags)
	if prev != nil && matched < prev.frags.len() {
		m.recordGone(prev)
	}
	m.setShared(prev)
	return m, nil
}

// startFrom takes prev's totals (prev may be nil: an empty model), which
// record then brings up to date port by port; the changes recorded are
// fragChanges(prev, m).
func (m *model) startFrom(prev *model) {
	m.refCount = map[sharedRef]int{}
	if prev == nil {
		return
	}
	for r, n := range prev.refCount {
		m.refCount[r] = n
	}
	m.fragRules, m.fragElems = prev.fragRules, prev.fragElems
	m.changesFrom = prev
}

// record notes that service port old (nil: new) became f (nil: gone).
func (m *model) record(old, f *fragment) {
	if old != nil {
		m.count(old, -1)
	}
	if f != nil {
		m.count(f, +1)
	}
	if m.changesFrom != nil {
		m.changes = append(m.changes, fragChange{prev: old, next: f})
	}
}

// recordGone records the ports of prev that m does not have.
func (m *model) recordGone(prev *model) {
	kept := make(map[string]bool, m.frags.len())
	for _, f := range m.frags.all() {
		kept[f.sp.ID] = true
	}
	for _, p := range prev.frags.all() {
		if !kept[p.sp.ID] {
			m.record(p, nil)
		}
	}
}

// count adds (sign +1) or removes (-1) what fragment f programs and the
// shared chains it uses to the model's totals.
func (m *model) count(f *fragment, sign int) {
	rules, elems := f.counts()
	m.fragRules += sign * rules
	m.fragElems += sign * elems
	for _, r := range f.refs {
		if m.refCount[r] += sign; m.refCount[r] == 0 {
			delete(m.refCount, r)
		}
	}
}

// setShared lists the shared chains refCount holds and builds them, or
// takes prev's when they are the same (same params, so the same chains).
func (m *model) setShared(prev *model) {
	m.refs = m.refs[:0:0]
	for r := range m.refCount {
		m.refs = append(m.refs, r)
	}
	slices.SortFunc(m.refs, sharedRefCmp)
	if prev != nil && slices.Equal(prev.refs, m.refs) {
		m.shared = prev.shared
	} else {
		m.shared = sharedChains(m.refs, m.params)
	}
}

// skeleton is the table without the elements fragments add: the fixed
// part, the shared chains, and every fragment's chains and affinity sets.
// The maps fragments fill are fresh, empty copies.
func (m *model) skeleton() *table {
	t := &table{family: m.params.family}
	t.chains = append(slices.Clone(m.fixed.chains), m.shared...)
	for _, s := range m.fixed.sets {
		if s.filledByFragments() {
			s = &set{name: s.name, kind: s.kind, timeout: s.timeout}
		}
		t.sets = append(t.sets, s)
	}
	for _, f := range m.frags.all() {
		t.chains = append(t.chains, f.chains...)
		t.sets = append(t.sets, f.sets...)
	}
	return t
}

// counts returns the rules and the elements f programs, except the
// elements of shared sets (see model.counts).
func (f *fragment) counts() (rules, elems int) {
	for _, c := range f.chains {
		rules += len(c.rules)
	}
	return rules, f.owned
}

// materialize assembles the whole table: fixed part, then every fragment
// in order, with the shared maps filled, sorted and deduplicated.
func (m *model) materialize() *table {
	t := m.skeleton()
	maps := map[string]*set{}
	for _, s := range t.sets {
		if s.filledByFragments() {
			maps[s.name] = s
		}
	}
	for _, f := range m.frags.all() {
		for _, e := range f.allElems() {
			s := maps[e.set]
			s.elems = append(s.elems, e.elem)
		}
	}
	for _, s := range maps {
		sortElems(s)
	}
	return t
}

// counts returns the rules and the elements the model programs, except
// the elements of shared sets, which several fragments hold: their number
// is the number of keys in the elemIndex's refs.
func (m *model) counts() (rules, elems int) {
	rules, elems = m.fixed.counts()
	for _, c := range m.shared {
		rules += len(c.rules)
	}
	return rules + m.fragRules, elems + m.fragElems
}
