package nftables

import (
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

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
	// model built from a change list (buildModel with a change list) need not visit them all.
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
	m.reserveElems(maps)
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

// setElems returns the elements of the shared map called name as
// materialize fills it (sorted, repeated keys dropped, first port wins),
// without the other maps: comparing one map at a time with the kernel's
// keeps one map's elements in memory instead of the whole table's
// (≈ 25 MB at 10k Services).
func (m *model) setElems(name string) []elem {
	n := 0
	for _, f := range m.frags.all() {
		f.eachElemOf(name, func(elem) { n++ })
	}
	s := &set{elems: make([]elem, 0, n)}
	for _, f := range m.frags.all() {
		f.eachElemOf(name, func(e elem) { s.elems = append(s.elems, e) })
	}
	sortElems(s)
	return s.elems
}

// reserveElems gives every map the capacity for all the elements the
// fragments add to it. Appending 240k elements of ≈ 150 bytes to slices
// that grow by doubling copied them over and over: at 10k Services that
// was two thirds of Render's CPU time. Counting derives the elements
// once more, which costs far less than the copies.
func (m *model) reserveElems(maps map[string]*set) {
	counts := make(map[string]int, len(maps))
	for _, f := range m.frags.all() {
		f.eachElem(func(e mapElem) { counts[e.set]++ })
	}
	for name, s := range maps {
		s.elems = slices.Grow(s.elems, counts[name])
	}
}

// ownSize returns the number of rules and elements the model programs,
// except the elements of shared sets, which several fragments hold: their
// number is the number of keys in the elemIndex's refs (Backend.tableSize).
func (m *model) ownSize() (rules, elems int) {
	rules, elems = m.fixed.size()
	for _, c := range m.shared {
		rules += len(c.rules)
	}
	return rules + m.fragRules, elems + m.fragElems
}
