package nftables

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// table is the intermediate model of one svcnat table. Both the nft text
// and the netlink messages are produced from it.
type table struct {
	family synth.Family
	sets   []*set   // in declaration order
	chains []*chain // base chains first, then regular chains in order of creation

	// Indexes by name, built on first lookup: only the slow diff path
	// (tableDiff, plan_diff.go) needs them, and building them costs a map insert per chain.
	chainIdx map[string]*chain
	setIdx   map[string]*set
}

// setKind says what the keys (and values) of a set are.
type setKind int

const (
	kindAddr          setKind = iota // ipv4_addr / ipv6_addr
	kindPrefix                       // interval set of addresses
	kindAddrProtoPort                // addr . inet_proto . inet_service : verdict
	kindProtoPort                    // inet_proto . inet_service : verdict
	kindAffinity                     // addr, dynamic, with timeout
	kindAddrSlot                     // addr . inet_proto . inet_service . slot : addr . inet_service
	kindPortSlot                     // inet_proto . inet_service . slot : addr . inet_service
	kindAddrPair                     // addr . addr (hairpin: an endpoint talking to itself)
)

type set struct {
	name    string
	kind    setKind
	timeout int32 // seconds; kindAffinity only
	elems   []elem
}

func (s *set) isMap() bool { return s.isVerdictMap() || s.isEndpointMap() }

// filledByFragments reports whether service ports add the set's elements
// (sharedMaps), as opposed to the fixed sets and the affinity sets.
func (s *set) filledByFragments() bool { return s.isMap() || s.kind == kindAddrPair }

// isVerdictMap reports whether the set maps to verdicts (goto a chain).
func (s *set) isVerdictMap() bool { return s.kind == kindAddrProtoPort || s.kind == kindProtoPort }

// isEndpointMap reports whether the set maps an entry point and a slot
// number to an endpoint address and port (the DNAT target).
func (s *set) isEndpointMap() bool { return s.kind == kindAddrSlot || s.kind == kindPortSlot }

// elem is one element; which fields count depends on the set's kind.
type elem struct {
	addr    netip.Addr
	prefix  netip.Prefix
	proto   synth.Protocol
	port    uint16
	slot    uint32         // endpoint maps: the endpoint's number in its list
	to      netip.AddrPort // endpoint maps: the DNAT target
	pair    bool           // hairpin set: the key is addr . addr
	verdict verdict
	comment string
}

// verdictKind enumerates the verdicts svcnat uses.
type verdictKind int

const (
	vNone verdictKind = iota
	vGoto
	vJump
	vDrop
	vReturn
)

type verdict struct {
	kind  verdictKind
	chain string
}

func goTo(c string) verdict { return verdict{kind: vGoto, chain: c} }

// hook makes a chain a base chain.
type hook struct {
	typ      string // "nat" or "filter"
	hook     string // "prerouting", "input", ...
	priority int32
}

type chain struct {
	name  string
	hook  *hook
	rules []rule
}

type rule struct {
	stmts   []stmt
	comment string
}

func (c *chain) add(comment string, stmts ...stmt) {
	c.rules = append(c.rules, rule{stmts: stmts, comment: comment})
}

func (t *table) newChain(name string, h *hook) *chain {
	c := &chain{name: name, hook: h}
	t.chains = append(t.chains, c)
	t.chainIdx = nil
	return c
}

func (t *table) newSet(name string, kind setKind) *set {
	s := &set{name: name, kind: kind}
	t.sets = append(t.sets, s)
	t.setIdx = nil
	return s
}

func (t *table) set(name string) *set {
	if t.setIdx == nil {
		t.setIdx = make(map[string]*set, len(t.sets))
		for _, s := range t.sets {
			t.setIdx[s.name] = s
		}
	}
	return t.setIdx[name]
}

func (t *table) chain(name string) *chain {
	if t.chainIdx == nil {
		t.chainIdx = make(map[string]*chain, len(t.chains))
		for _, c := range t.chains {
			t.chainIdx[c.name] = c
		}
	}
	return t.chainIdx[name]
}

// size returns the number of rules and elements t holds.
func (t *table) size() (rules, elems int) {
	for _, c := range t.chains {
		rules += len(c.rules)
	}
	for _, s := range t.sets {
		elems += len(s.elems)
	}
	return rules, elems
}

// elemCmp is the order of elements in a set: by key.
func elemCmp(x, y elem) int {
	return cmp.Or(x.addr.Compare(y.addr), x.prefix.Addr().Compare(y.prefix.Addr()),
		cmp.Compare(x.proto, y.proto), cmp.Compare(x.port, y.port), cmp.Compare(x.slot, y.slot))
}

// sortElems orders a set by key and drops duplicate keys (first wins), so
// the same Ruleset always gives the same bytes. Already sorted input (the
// common case: synth sorts) costs one pass.
func sortElems(s *set) {
	if !slices.IsSortedFunc(s.elems, elemCmp) {
		slices.SortStableFunc(s.elems, elemCmp)
	}
	s.elems = slices.CompactFunc(s.elems, func(x, y elem) bool { return x.sameKey(y) })
}

// sameKey reports whether two elements of one set have the same key.
func (e elem) sameKey(o elem) bool {
	return e.addr == o.addr && e.prefix == o.prefix && e.proto == o.proto && e.port == o.port && e.slot == o.slot
}

// familyTable is a table value that carries only the family, which is all
// emitters need to address objects.
func familyTable(f synth.Family) *table { return &table{family: f} }
