package nftables

import (
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// emitter receives the operations of one transaction. The text emitter
// prints them as nft commands (Diff); the netlink emitter queues them in a
// batch (Apply). Both see the same calls in the same order.
type emitter interface {
	addTable(t *table)
	delTable(t *table)
	addSet(t *table, s *set)
	delSet(t *table, s *set)
	flushSet(t *table, s *set)
	addElems(t *table, s *set, es []elem)
	delElems(t *table, s *set, es []elem)
	addChain(t *table, c *chain)
	flushChain(t *table, c *chain)
	delChain(t *table, c *chain)
	addRules(t *table, c *chain)
}

// plan computes the operations that turn prev into next (either may be
// nil: no table). When full is set, or an incremental change is impossible
// (a set declaration or base chain changed), the table is replaced in the
// same transaction: add (so delete cannot fail) + delete + create.
// It returns the number of objects sent and whether the fast path (per
// fragment) was taken.
func plan(e emitter, prev, next *model, full bool, idx *elemIndex) (n int, fast bool) {
	switch {
	case next == nil && prev == nil:
		return 0, false // the caller emits a bare delete for unknown state
	case next == nil:
		t := &table{family: prev.params.family}
		e.addTable(t)
		e.delTable(t)
		return 1, false
	case full || prev == nil:
		return replaceModel(e, next, full || prev != nil), false
	}
	if d, ok := fastDelta(prev, next, idx); ok {
		return d.emit(e, &table{family: next.params.family}), true
	}
	pt, nt := prev.materialize(), next.materialize()
	if !compatible(pt, nt) {
		return replace(e, nt, true), false
	}
	return tableDelta(pt, nt).emit(e, nt), false
}

// replace creates t from scratch, deleting any old table first.
func replace(e emitter, t *table, deleteOld bool) int {
	n := 0
	if deleteOld {
		e.addTable(t)
		e.delTable(t)
		n++
	}
	e.addTable(t)
	for _, s := range t.sets {
		e.addSet(t, s)
	}
	for _, c := range t.chains {
		e.addChain(t, c)
	}
	for _, c := range t.chains {
		e.addRules(t, c)
		n += 1 + len(c.rules)
	}
	for _, s := range t.sets {
		if len(s.elems) > 0 {
			e.addElems(t, s, s.elems)
		}
		n += 1 + len(s.elems)
	}
	return n + 1
}

// compatible reports whether prev can be turned into next without
// recreating sets or base chains.
func compatible(prev, next *table) bool {
	for _, s := range next.sets {
		if p := prev.set(s.name); p != nil && !sameDecl(p, s) {
			return false
		}
	}
	for _, c := range next.chains {
		if p := prev.chain(c.name); p != nil && (p.hook == nil) != (c.hook == nil) || p != nil && c.hook != nil && *p.hook != *c.hook {
			return false
		}
	}
	return true
}

// sameDecl reports whether two sets of one family have the same declaration.
func sameDecl(a, b *set) bool { return a.kind == b.kind && a.timeout == b.timeout }

// sameRules compares rules structurally: every statement is a comparable
// value, so this is exact and much cheaper than rendering text.
func sameRules(a, b *chain) bool {
	return slices.EqualFunc(a.rules, b.rules, func(x, y rule) bool {
		return x.comment == y.comment && slices.Equal(x.stmts, y.stmts)
	})
}

// delta is what an incremental transaction changes.
type delta struct {
	newSets, goneSets             []*set
	newChains, changed, goneChain []*chain
	adds, dels                    []setElems
	refill                        []*set
}

type setElems struct {
	s  *set
	es []elem
}

// emit sends d, ordered so that every reference is valid at each step: new
// sets and chains first, elements pointing at chains that go away are
// removed before those chains, chains are emptied before they are deleted.
func (d *delta) emit(e emitter, t *table) int {
	n := 0
	for _, s := range d.newSets {
		e.addSet(t, s)
		n++
	}
	for _, c := range d.newChains {
		e.addChain(t, c)
		n++
	}
	for _, x := range d.dels {
		e.delElems(t, x.s, x.es)
		n += len(x.es)
	}
	for _, s := range d.refill {
		e.flushSet(t, s)
		n++
	}
	for _, c := range d.changed {
		e.flushChain(t, c)
		n++
	}
	for _, cs := range [][]*chain{d.changed, d.newChains} {
		for _, c := range cs {
			e.addRules(t, c)
			n += len(c.rules)
		}
	}
	for _, x := range d.adds {
		e.addElems(t, x.s, x.es)
		n += len(x.es)
	}
	for _, c := range d.goneChain {
		e.flushChain(t, c)
	}
	for _, c := range d.goneChain {
		e.delChain(t, c)
		n++
	}
	for _, s := range d.goneSets {
		e.delSet(t, s)
		n++
	}
	return n
}

// tableDelta compares two whole tables (the slow path: Ruleset-wide
// changes, duplicate map keys).
func tableDelta(prev, next *table) *delta {
	d := &delta{}
	for _, s := range next.sets {
		if prev.set(s.name) == nil {
			d.newSets = append(d.newSets, s)
		}
	}
	for _, c := range next.chains {
		p := prev.chain(c.name)
		switch {
		case p == nil:
			d.newChains = append(d.newChains, c)
		case !sameRules(p, c):
			d.changed = append(d.changed, c)
		}
	}
	for _, c := range prev.chains {
		if next.chain(c.name) == nil {
			d.goneChain = append(d.goneChain, c)
		}
	}
	for _, s := range next.sets {
		if p := prev.set(s.name); p != nil {
			d.setDiff(p, s)
		} else if len(s.elems) > 0 {
			d.adds = append(d.adds, setElems{s, s.elems})
		}
	}
	for _, s := range prev.sets {
		if next.set(s.name) == nil {
			d.goneSets = append(d.goneSets, s)
		}
	}
	return d
}

// setDiff adds the element changes from p to s (same name, both sorted).
// Interval sets are rewritten whole when they change: their kernel
// elements are interval boundaries, not prefixes. Affinity sets are filled
// by the kernel and never touched.
func (d *delta) setDiff(p, s *set) {
	switch s.kind {
	case kindAffinity:
		return
	case kindPrefix:
		if !slices.Equal(p.elems, s.elems) {
			d.refill = append(d.refill, s)
			if len(s.elems) > 0 {
				d.adds = append(d.adds, setElems{s, s.elems})
			}
		}
		return
	}
	add, del := sortedDiff(p.elems, s.elems)
	if len(del) > 0 {
		d.dels = append(d.dels, setElems{p, del})
	}
	if len(add) > 0 {
		d.adds = append(d.adds, setElems{s, add})
	}
}

// sortedDiff compares two key-sorted element lists without duplicate keys:
// del holds elements gone or whose value changed, add the new values.
func sortedDiff(prev, next []elem) (add, del []elem) { return keyedDiff(prev, next, elemCmp) }

// keyedDiff merges two lists sorted by key (cmp) without duplicate keys:
// del holds the items gone or changed (same key, other value), add the
// new and changed ones.
func keyedDiff[T comparable](prev, next []T, cmp func(x, y T) int) (add, del []T) {
	i, j := 0, 0
	for i < len(prev) || j < len(next) {
		c := 0
		switch {
		case i == len(prev):
			c = 1
		case j == len(next):
			c = -1
		default:
			c = cmp(prev[i], next[j])
		}
		switch {
		case c < 0:
			del = append(del, prev[i])
			i++
		case c > 0:
			add = append(add, next[j])
			j++
		default:
			if prev[i] != next[j] {
				del, add = append(del, prev[i]), append(add, next[j])
			}
			i, j = i+1, j+1
		}
	}
	return add, del
}

// familyTable is a table value that carries only the family, which is all
// emitters need to address objects.
func familyTable(f synth.Family) *table { return &table{family: f} }
