package nftables

import (
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

// reconcile emits what turns the kernel's table of family f into next
// (nil: no table) when the backend does not know the kernel's state: first
// Apply of a process, after Reconcile or after an error. It reads the
// table back and sends only the differences, so a second `svcnat apply`
// and a periodic reconcile of an unchanged node send nothing, and affinity
// sets keep their entries. When the table cannot be read or compared
// safely it falls back to replacing the table in the same batch, which is
// always correct, only not minimal.
func (b *Backend) reconcile(e emitter, f synth.Family, next *model) int {
	kt, want, err := b.readKernel(f, next)
	switch {
	case err != nil && next == nil, err == nil && kt != nil && next == nil:
		t := familyTable(f)
		e.addTable(t)
		e.delTable(t)
		return 1
	case next == nil:
		return 0 // no table, none wanted
	case err != nil || kt == nil:
		return replaceModel(e, next, true)
	}
	d, ok := kernelDelta(kt, want)
	if !ok {
		return replace(e, want, true)
	}
	return d.emit(e, want)
}
