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
	elems  []mapElem         // sorted by set, then key
	dnat   []dnatRef         // shared DNAT chains its chains jump to
	shared int               // how many of elems are in shared sets (sharedSet)
}

// mapElem is one element of a shared map (sharedMaps).
type mapElem struct {
	set string
	elem
}

func (f *fragment) sortElems() {
	slices.SortStableFunc(f.elems, mapElemCmp)
	// One port can name the same address twice (an external IP that is
	// also its load-balancer IP): first wins, as in a whole table.
	f.elems = slices.CompactFunc(f.elems, func(x, y mapElem) bool { return x.set == y.set && x.sameKey(y.elem) })
	f.shared = 0
	for _, e := range f.elems {
		if sharedSet(e.set) {
			f.shared++
		}
	}
}

// model is one family's table split the way it changes: a fixed part that
// depends on Ruleset-wide fields, and one fragment per service port.
type model struct {
	params  params
	fixedIn fixedInputs // what fixed was built from
	fixed   *table      // base chains and fixed sets; the shared maps are empty
	frags   []*fragment // in Ruleset order
	dnat    []dnatRef   // shared DNAT chains the fragments use, sorted

	byID map[string]*fragment // built on the first lookup that misses by position
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
	m.frags = make([]*fragment, len(rs.Services))
	for i := range rs.Services {
		sp := &rs.Services[i]
		if prev != nil {
			if f := prev.lookup(i, sp.ID); f != nil && f.sp.Equal(sp) {
				m.frags[i] = f
				continue
			}
		}
		f, err := buildFragment(sp, m.params)
		if err != nil {
			return nil, fmt.Errorf("build %s table: %w", rs.Family, err)
		}
		m.frags[i] = f
	}
	m.dnat = dnatRefs(m.frags)
	return m, nil
}

// materialize assembles the whole table: fixed part, then every fragment
// in order, with the shared maps filled, sorted and deduplicated.
func (m *model) materialize() *table {
	t := &table{family: m.params.family}
	t.chains = append(slices.Clone(m.fixed.chains), dnatChains(m.dnat)...)
	maps := map[string]*set{}
	for _, s := range m.fixed.sets {
		if s.filledByFragments() {
			c := *s
			s = &c
			maps[s.name] = s
		}
		t.sets = append(t.sets, s)
	}
	for _, f := range m.frags {
		t.chains = append(t.chains, f.chains...)
		t.sets = append(t.sets, f.sets...)
		for _, e := range f.elems {
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
	rules += len(m.dnat) * dnatChainRules
	for _, f := range m.frags {
		for _, c := range f.chains {
			rules += len(c.rules)
		}
		elems += len(f.elems) - f.shared
	}
	return rules, elems
}
