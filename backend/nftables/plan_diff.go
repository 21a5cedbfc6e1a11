package nftables

import (
	"slices"
)

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
