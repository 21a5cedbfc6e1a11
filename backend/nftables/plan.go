package nftables

import (
	"slices"
)

// emitter receives the operations of one transaction. The text emitter
// prints them as nft commands (Diff); the netlink emitter queues them in a
// google/nftables batch (Apply). Both see the same calls in the same order.
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
// It returns the number of objects sent.
func plan(e emitter, prev, next *table, full bool) int {
	if !full && prev != nil && next != nil && !compatible(prev, next) {
		full = true
	}
	switch {
	case next == nil && (full || prev != nil):
		t := prev
		if t == nil {
			return 0 // the caller emits a bare delete for unknown state
		}
		e.addTable(t)
		e.delTable(t)
		return 1
	case next == nil:
		return 0
	case full || prev == nil:
		return replace(e, next, full || prev != nil)
	}
	return incremental(e, prev, next)
}

// replace creates next from scratch, deleting any old table first.
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
		if p := prev.set(s.name); p != nil && !slices.Equal(p.declLines(prev.family), s.declLines(next.family)) {
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

func (t *table) chain(name string) *chain { return t.chainIdx[name] }

// sameRules compares rules structurally: every statement is a comparable
// value, so this is exact and much cheaper than rendering text.
func sameRules(a, b *chain) bool {
	return slices.EqualFunc(a.rules, b.rules, func(x, y rule) bool {
		return x.comment == y.comment && slices.Equal(x.stmts, y.stmts)
	})
}

// incremental sends only differences, ordered so that every reference is
// valid at each step: new sets and chains first, elements pointing at
// chains that go away are removed before those chains, chains are emptied
// before they are deleted.
func incremental(e emitter, prev, next *table) int {
	n := 0
	var newChains, changed, gone []*chain
	for _, s := range next.sets {
		if prev.set(s.name) == nil {
			e.addSet(next, s)
			n++
		}
	}
	for _, c := range next.chains {
		p := prev.chain(c.name)
		switch {
		case p == nil:
			e.addChain(next, c)
			newChains = append(newChains, c)
			n++
		case !sameRules(p, c):
			changed = append(changed, c)
		}
	}
	for _, c := range prev.chains {
		if next.chain(c.name) == nil {
			gone = append(gone, c)
		}
	}
	adds, dels, refill := elemDiff(prev, next)
	for _, d := range dels {
		e.delElems(prev, d.s, d.es)
		n += len(d.es)
	}
	for _, s := range refill {
		e.flushSet(next, s)
		n++
	}
	for _, c := range changed {
		e.flushChain(next, c)
		n++
	}
	for _, c := range append(changed, newChains...) {
		e.addRules(next, c)
		n += len(c.rules)
	}
	for _, a := range adds {
		e.addElems(next, a.s, a.es)
		n += len(a.es)
	}
	for _, c := range gone {
		e.flushChain(prev, c)
	}
	for _, c := range gone {
		e.delChain(prev, c)
		n++
	}
	for _, s := range prev.sets {
		if next.set(s.name) == nil {
			e.delSet(prev, s)
			n++
		}
	}
	return n
}

type setElems struct {
	s  *set
	es []elem
}

// elemDiff compares the elements of every set present in both tables (and
// the elements of new sets). Interval sets are rewritten whole when they
// change: their kernel elements are interval boundaries, not prefixes.
func elemDiff(prev, next *table) (adds, dels []setElems, refill []*set) {
	for _, s := range next.sets {
		p := prev.set(s.name)
		if p == nil {
			if len(s.elems) > 0 {
				adds = append(adds, setElems{s, s.elems})
			}
			continue
		}
		old := map[string]string{}
		for _, el := range p.elems {
			old[el.key()] = el.text()
		}
		cur := map[string]string{}
		var add, del []elem
		for _, el := range s.elems {
			cur[el.key()] = el.text()
			if t, ok := old[el.key()]; !ok || t != el.text() {
				add = append(add, el)
			}
		}
		for _, el := range p.elems {
			if t, ok := cur[el.key()]; !ok || t != el.text() {
				del = append(del, el) // gone, or its value changed
			}
		}
		switch {
		case s.kind == kindPrefix && (len(add) > 0 || len(del) > 0):
			refill = append(refill, s)
			if len(s.elems) > 0 {
				adds = append(adds, setElems{s, s.elems})
			}
		case s.kind != kindAffinity:
			if len(del) > 0 {
				dels = append(dels, setElems{p, del})
			}
			if len(add) > 0 {
				adds = append(adds, setElems{s, add})
			}
		}
	}
	return adds, dels, refill
}
