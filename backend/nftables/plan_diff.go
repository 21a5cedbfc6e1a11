package nftables

import (
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// diff computes the changes that turn from's table into next's. Against
// the applied model it first compares only the service ports that changed
// (plan_fastdiff.go); when that is not exact, and against the kernel's
// table, it compares whole tables (tableDiff). It returns next's whole
// table when it built one, whether only changed ports were compared, and
// false when there is nothing to compare with or only replacing the table
// is safe.
func diff(from *baseline, next *model) (d *delta, to *table, fast, ok bool) {
	switch {
	case from.applied != nil:
		if d, ok := fastDelta(from.applied, next, from.index); ok {
			return d, familyTable(next.params.family), true, true
		}
		to = next.materialize()
		d, ok = tableDiff(from.applied.materialize(), to)
		return d, to, false, ok
	case from.kernel != nil:
		// want's maps hold no elements where the kernel had them: a
		// replacement must take them from the model.
		if d, ok = tableDiff(from.kernel, from.want); !ok {
			return nil, nil, false, false
		}
		return d, from.want, false, true
	}
	return nil, nil, false, false
}

// tableView is a whole table diff can compare a wanted table with: a
// model's (*table) or the kernel's read back (*kernelTable).
type tableView interface {
	// compareChain says how its chain named c.name differs from c.
	compareChain(c *chain) objDiff
	// compareSet says how its set named s.name differs from s (to's).
	compareSet(to *table, s *set) objDiff
	// elemDiff adds the element changes of its set named s.name (same
	// declaration) to d; false when its elements cannot be compared.
	elemDiff(d *delta, f synth.Family, s *set) bool
	// goneChains and goneSets are its objects to has not; flush says
	// whether the sets must be flushed before they are deleted.
	goneChains(to *table) []*chain
	goneSets(to *table) (gone []*set, flush bool)
}

// objDiff is how an object of a tableView compares with the wanted one.
type objDiff int

const (
	objSame         objDiff = iota
	objMissing              // not there: create it
	objChanged              // its rules differ: flush and add them
	objIncompatible         // declared otherwise: replace the table
)

// tableDiff compares the whole table from with to. It returns false when
// only a replacement of the table is safe.
func tableDiff(from tableView, to *table) (*delta, bool) {
	d := &delta{}
	for _, c := range to.chains {
		switch from.compareChain(c) {
		case objMissing:
			d.newChains = append(d.newChains, c)
		case objChanged:
			d.changed = append(d.changed, c)
		case objIncompatible:
			return nil, false
		}
	}
	d.goneChain = from.goneChains(to)
	for _, s := range to.sets {
		switch from.compareSet(to, s) {
		case objMissing:
			d.newSets = append(d.newSets, s)
			if len(s.elems) > 0 {
				d.adds = append(d.adds, setElems{s, s.elems})
			}
		case objIncompatible:
			return nil, false
		default:
			if !from.elemDiff(d, to.family, s) {
				return nil, false
			}
		}
	}
	gone, flush := from.goneSets(to)
	if flush {
		// Their elements may jump to chains deleted before the sets
		// (delta.emit deletes sets last).
		d.refill = append(d.refill, gone...)
	}
	d.goneSets = gone
	return d, true
}

func (t *table) compareChain(c *chain) objDiff {
	switch p := t.chain(c.name); {
	case p == nil:
		return objMissing
	case (p.hook == nil) != (c.hook == nil) || c.hook != nil && *p.hook != *c.hook:
		return objIncompatible
	case !sameRules(p, c):
		return objChanged
	}
	return objSame
}

func (t *table) compareSet(_ *table, s *set) objDiff {
	switch p := t.set(s.name); {
	case p == nil:
		return objMissing
	case !sameDecl(p, s):
		return objIncompatible
	}
	return objSame
}

func (t *table) elemDiff(d *delta, _ synth.Family, s *set) bool {
	d.setDiff(t.set(s.name), s)
	return true
}

func (t *table) goneChains(to *table) []*chain {
	var gone []*chain
	for _, c := range t.chains {
		if to.chain(c.name) == nil {
			gone = append(gone, c)
		}
	}
	return gone
}

// goneSets of a model's table need no flush: only affinity sets, which
// hold no verdicts, go away with their ports.
func (t *table) goneSets(to *table) ([]*set, bool) {
	var gone []*set
	for _, s := range t.sets {
		if to.set(s.name) == nil {
			gone = append(gone, s)
		}
	}
	return gone, false
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
