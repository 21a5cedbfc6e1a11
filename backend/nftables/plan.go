package nftables

import (
	"github.com/svcnat/svcnat/synth"
)

// emitter receives the operations of one transaction. The text emitter
// prints them as nft commands (Plan.String); the netlink emitter queues
// them in a batch (Commit). Both see the same calls in the same order.
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

// baseline is what the planner knows of one family's table before a
// transaction: the model applied last while the kernel state is known
// (applied, possibly nil: no table), else the kernel's table read back.
type baseline struct {
	family synth.Family
	// mayExist: a table may be there, so one must be deleted when none is
	// wanted. none: there is no table for sure (the applied state has
	// none), so a new one needs no delete first. A table the kernel read
	// showed missing is neither: a replacement still deletes first.
	mayExist, none bool
	applied        *model     // known state
	index          *elemIndex // applied's map key owners
	kernel         *kernelTable
	want           *table // next's whole table, compared with kernel's rules while they streamed in
}

// baseline returns what family f's table is before a transaction to next:
// the applied model when useApplied (the kernel state is known), else the
// kernel's table, read back (plan_kernel.go). After a failed read the
// baseline has neither, so the table is replaced.
func (b *Backend) baseline(f synth.Family, next *model, useApplied bool) baseline {
	if useApplied {
		m := b.applied[f]
		return baseline{family: f, mayExist: m != nil, none: m == nil, applied: m, index: b.index[f]}
	}
	kt, want, err := b.readKernel(f, next)
	if err != nil {
		return baseline{family: f, mayExist: true}
	}
	return baseline{family: f, mayExist: kt != nil, kernel: kt, want: want}
}

// transaction is what the planner decided for one family's table: nothing,
// delete it, change it in place (delta), or replace it (replacement).
type transaction struct {
	family      synth.Family
	deleteTable bool
	delta       *delta
	replacement *model
	deleteOld   bool   // replacement: delete any old table in the same batch
	to          *table // next's whole table if built (delta addresses objects by it)
	fast        bool   // delta compared only the ports that changed
}

// plan decides the transaction that turns the table from is into next's
// (nil: no table). It compares the two with diff, and when that is not
// possible or not safe (no table to compare with, a set or base chain
// declared differently) the table is replaced in the same transaction:
// add (so delete cannot fail) + delete + create.
func plan(from *baseline, next *model) transaction {
	tx := transaction{family: from.family}
	if next == nil {
		tx.deleteTable = from.mayExist
		return tx
	}
	d, to, fast, ok := diff(from, next)
	if !ok {
		tx.replacement, tx.deleteOld, tx.to = next, !from.none, to
		return tx
	}
	tx.delta, tx.to, tx.fast = d, to, fast
	return tx
}

// empty reports whether tx sends nothing. A delta is counted by emitting
// it nowhere (deltas are small; the others always send something).
func (tx *transaction) empty() bool {
	switch {
	case tx.deleteTable, tx.replacement != nil:
		return false
	case tx.delta != nil:
		return tx.delta.emit(discard{}, tx.to) == 0
	}
	return true
}

// discard is an emitter that drops every operation.
type discard struct{}

func (discard) addTable(*table)               {}
func (discard) delTable(*table)               {}
func (discard) addSet(*table, *set)           {}
func (discard) delSet(*table, *set)           {}
func (discard) flushSet(*table, *set)         {}
func (discard) addElems(*table, *set, []elem) {}
func (discard) delElems(*table, *set, []elem) {}
func (discard) addChain(*table, *chain)       {}
func (discard) flushChain(*table, *chain)     {}
func (discard) delChain(*table, *chain)       {}
func (discard) addRules(*table, *chain)       {}

// emit sends tx to e and returns the number of objects sent: the one
// place where a transaction leaves the planner.
func (tx *transaction) emit(e emitter) int {
	switch {
	case tx.deleteTable:
		t := familyTable(tx.family)
		e.addTable(t)
		e.delTable(t)
		return 1
	case tx.delta != nil:
		return tx.delta.emit(e, tx.to)
	case tx.replacement != nil:
		return replaceTable(e, tx.replacement, tx.to, tx.deleteOld)
	}
	return 0
}
