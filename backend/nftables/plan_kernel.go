package nftables

import (
	"bytes"
	"errors"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// errNotComparable means the kernel's table holds something the plan
// cannot turn into svcnat's by small changes (table flags, a base chain or
// set declared differently, an element svcnat cannot express).
var errNotComparable = errors.New("kernel table not comparable")

// readKernel reads the kernel's table of family f; nil when there is none.
// When there is one and next is not nil, it also returns next's table
// (want), with which rules and elements are compared while they stream
// in. want's shared maps hold elements only where the kernel has no such
// map (they are all added): the maps the kernel has are filled one at a
// time for the comparison and emptied again, the differences kept.
func (b *Backend) readKernel(f synth.Family, next *model) (kt *kernelTable, want *table, err error) {
	b.kernelReads++
	r, err := b.kernel.Read(nfnlFamily(f), TableName)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	t, err := r.Table()
	if err != nil || t == nil {
		return nil, nil, err
	}
	if next == nil {
		return &kernelTable{Table: t}, nil, nil
	}
	want = next.skeleton()
	kt, err = readTableBody(r, t, want, next)
	return kt, want, err
}

// readTableBody reads the chains, sets, elements and rules of t, and
// compares them with want, next's skeleton.
func readTableBody(r nfnl.Reader, t *nfnl.Table, want *table, next *model) (*kernelTable, error) {
	if t.Flags != 0 { // dormant, owned by another process, ...
		return nil, errNotComparable
	}
	if err := r.Chains(t); err != nil {
		return nil, err
	}
	if err := r.Sets(t); err != nil {
		return nil, err
	}
	kt := newKernelTable(t)
	for _, s := range want.sets {
		if err := kt.compareElems(r, want, s, next); err != nil {
			return nil, err
		}
	}
	for i := range kt.chains {
		kt.chains[i].want = want.chain(kt.chains[i].Name)
	}
	rc := &ruleComparer{ruleMatcher: newRuleMatcher(want.family)}
	compare := rc.rule
	for i := range kt.chains {
		if rc.chain = &kt.chains[i]; rc.chain.want == nil {
			continue // the rules of chains to delete do not matter
		}
		if err := r.Rules(rc.chain.Chain, compare); err != nil {
			return nil, err
		}
	}
	return kt, nil
}

// kernelTable is the kernel's table read back, indexed by name, with the
// outcome of comparing each chain's rules with the wanted ones.
type kernelTable struct {
	*nfnl.Table
	chains []kernelChain // Table.Chains, in dump order
	chIdx  map[string]*kernelChain
	setIdx map[string]*nfnl.Set
	elems  map[*set]*elemDelta // a wanted set's element changes, found while the kernel's streamed in
}

// kernelChain is a kernel chain and, once its rules were streamed through
// ruleComparer.rule, whether they equal the wanted chain's.
type kernelChain struct {
	*nfnl.Chain
	want    *chain // nil: not wanted
	n       int    // rules seen so far
	differs bool   // some rule differs from the wanted one at its position
}

func newKernelTable(t *nfnl.Table) *kernelTable {
	kt := &kernelTable{Table: t, chains: make([]kernelChain, len(t.Chains))}
	kt.chIdx = make(map[string]*kernelChain, len(t.Chains))
	for i, c := range t.Chains {
		kt.chains[i].Chain = c
		kt.chIdx[c.Name] = &kt.chains[i]
	}
	kt.elems = map[*set]*elemDelta{}
	kt.setIdx = make(map[string]*nfnl.Set, len(t.Sets))
	for _, s := range t.Sets {
		kt.setIdx[s.Name] = s
	}
	return kt
}

// nfnlFamily is the netfilter family of f's table.
func nfnlFamily(f synth.Family) nfnl.Family {
	if f == synth.IPv6 {
		return nfnl.IPv6
	}
	return nfnl.IPv4
}

func (kt *kernelTable) compareChain(c *chain) objDiff {
	switch kc := kt.chIdx[c.name]; {
	case kc == nil:
		return objMissing
	case !sameHook(kc.Chain, c):
		return objIncompatible
	case kc.differs || kc.n != len(c.rules):
		return objChanged
	}
	return objSame
}

func (kt *kernelTable) compareSet(to *table, s *set) objDiff {
	switch ks := kt.setIdx[s.name]; {
	case ks == nil:
		return objMissing
	case !sameKernelDecl(ks, to, s):
		return objIncompatible
	}
	return objSame
}

// compareElems compares the elements of want's set s with the kernel's
// set of the same name and declaration. A shared map of want is filled
// from next first; it stays filled only when the kernel cannot compare
// (the map is created, or the table replaced), else only the differences
// are kept. Affinity sets are the kernel's to fill.
func (kt *kernelTable) compareElems(r nfnl.Reader, want *table, s *set, next *model) error {
	ks := kt.setIdx[s.name]
	comparable := ks != nil && s.kind != kindAffinity && sameKernelDecl(ks, want, s)
	if !s.filledByFragments() {
		if comparable {
			return kt.readElems(r, ks, want.family, s)
		}
		return nil
	}
	s.elems = next.setElems(s.name)
	if !comparable {
		return nil
	}
	err := kt.readElems(r, ks, want.family, s)
	s.elems = nil
	return err
}

// readElems reads the elements of the kernel's set ks, which s wants.
// Interval sets are small and compared whole, so their elements are kept
// (ks.Elems); any other set is compared element by element as the dump
// streams in, keeping only the differences: at 10k Services the endpoint
// maps and the hairpin set hold 200k elements, which kept as read cost
// ≈ 80 MB.
func (kt *kernelTable) readElems(r nfnl.Reader, ks *nfnl.Set, f synth.Family, s *set) error {
	if s.kind == kindPrefix {
		return r.Elems(ks)
	}
	m := newElemMatcher(f, s)
	if err := r.EachElem(ks, m.elem); err != nil {
		return err
	}
	kt.elems[s] = m.result()
	return nil
}

// elemDiff adds the element changes from the kernel's set to s. Affinity
// sets are filled by the kernel: their elements are never compared. It
// returns false when an element cannot be decoded.
func (kt *kernelTable) elemDiff(d *delta, f synth.Family, s *set) bool {
	switch s.kind {
	case kindAffinity:
		return true
	case kindPrefix:
		d.intervalDiff(f, kt.setIdx[s.name], s)
		return true
	}
	ed := kt.elems[s]
	if ed == nil || ed.bad {
		return false
	}
	if len(ed.del) > 0 {
		d.dels = append(d.dels, setElems{s, ed.del})
	}
	if len(ed.add) > 0 {
		d.adds = append(d.adds, setElems{s, ed.add})
	}
	return true
}

func (kt *kernelTable) goneChains(*table) []*chain {
	var gone []*chain
	for i := range kt.chains {
		if kc := &kt.chains[i]; kc.want == nil {
			gone = append(gone, &chain{name: kc.Name})
		}
	}
	return gone
}

// goneSets of the kernel's table are flushed first: any of them may be a
// verdict map.
func (kt *kernelTable) goneSets(to *table) ([]*set, bool) {
	var gone []*set
	for _, ks := range kt.Sets {
		if to.set(ks.Name) == nil {
			s := &set{name: ks.Name, kind: kindAddr}
			if ks.Flags&unix.NFT_SET_MAP != 0 {
				s.kind = kindAddrProtoPort // only the nft keyword of Diff depends on it
			}
			gone = append(gone, s)
		}
	}
	return gone, true
}

// intervalDiff refills an interval set whose kernel intervals differ
// from s's.
func (d *delta) intervalDiff(f synth.Family, ks *nfnl.Set, s *set) {
	if sameIntervals(f, ks, s) {
		return
	}
	d.refill = append(d.refill, s)
	if len(s.elems) > 0 {
		d.adds = append(d.adds, setElems{s, s.elems})
	}
}

// elemDelta is how a kernel set's elements differ from a wanted set's.
type elemDelta struct {
	add, del []elem // sorted (elemCmp)
	bad      bool   // an element svcnat cannot express: not comparable
}

// elemMatcher compares a kernel set's elements, in any order, with the
// wanted set's (sorted by key): each kernel element is looked up by its
// key; one that is not wanted, or wanted with another value or comment,
// is deleted; wanted elements never seen (or seen different) are added.
type elemMatcher struct {
	f        synth.Family
	s        *set
	seen     []bool // s.elems[i] is in the kernel as wanted
	del      []elem
	bad      bool
	comment  string // the last comment encoded, and its user data
	userdata []byte
}

func newElemMatcher(f synth.Family, s *set) *elemMatcher {
	return &elemMatcher{f: f, s: s, seen: make([]bool, len(s.elems))}
}

// elem handles one kernel element; its slices are only borrowed.
func (m *elemMatcher) elem(ke nfnl.Elem) {
	if m.bad {
		return
	}
	e, ok := decodeKernelElemKey(m.f, m.s.kind, ke)
	if !ok {
		m.bad = true
		return
	}
	i, found := slices.BinarySearchFunc(m.s.elems, e, elemCmp)
	if found && m.same(&m.s.elems[i], e, ke) {
		m.seen[i] = true
		return
	}
	m.del = append(m.del, e)
}

// same reports whether the kernel element ke, decoded as e without its
// comment, is want.
func (m *elemMatcher) same(want *elem, e elem, ke nfnl.Elem) bool {
	e.comment = want.comment
	if e != *want || ke.Extra {
		return false
	}
	if want.comment != m.comment || m.userdata == nil {
		m.comment, m.userdata = want.comment, elemUserdata(want.comment)
	}
	return bytes.Equal(ke.UserData, m.userdata)
}

func (m *elemMatcher) result() *elemDelta {
	ed := &elemDelta{bad: m.bad, del: m.del}
	slices.SortFunc(ed.del, elemCmp)
	for i, ok := range m.seen {
		if !ok {
			ed.add = append(ed.add, m.s.elems[i])
		}
	}
	return ed
}

// ruleComparer compares the streamed kernel rules of chain with the wanted
// rules at the same position.
type ruleComparer struct {
	ruleMatcher
	chain *kernelChain
}

// rule handles the next kernel rule of rc.chain.
func (rc *ruleComparer) rule(exprs, udata []byte) {
	kc := rc.chain
	i := kc.n
	kc.n++
	if kc.want == nil || kc.differs {
		return
	}
	if i >= len(kc.want.rules) || !rc.same(&kc.want.rules[i], exprs, udata) {
		kc.differs = true
	}
}
