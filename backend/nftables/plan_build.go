package nftables

import (
	"fmt"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// changeList names the service ports of one family that may differ from
// the Ruleset the previous model was built from (synth.Changes), and says
// whether Ruleset-wide fields may differ too.
type changeList struct {
	ports  []synth.ServicePortName
	fields bool
}

// buildModel builds the model of rs, reusing what it can of prev (nil:
// none): the fixed part when its inputs did not change, and the fragment
// of every service port that did not change. Without a change list every
// port of rs is compared with prev's. With one (changes not nil) only the
// ports named are visited, and every other fragment is shared with prev
// (plan_fraglist.go), so that a one-endpoint sync costs the same at 50k
// Services as at 1k. fromList reports that the list was used: it is not
// when there is no prev, when the params changed, or when the names
// cannot be right (the ports do not line up with rs).
func buildModel(rs *synth.Ruleset, prev *model, changes *changeList) (m *model, fromList bool, err error) {
	m = &model{params: paramsOf(rs)}
	if prev != nil && prev.params != m.params {
		prev = nil // every fragment depends on params
	}
	if prev == nil {
		changes = nil
	}
	if err := m.buildFixed(rs, prev, changes); err != nil {
		return nil, false, err
	}
	m.startFrom(prev)
	if changes == nil {
		err = m.comparePorts(rs, prev)
	} else if fromList, err = m.editPorts(rs, prev, changes.ports); err == nil && !fromList {
		return buildModel(rs, prev, nil)
	}
	if err != nil {
		return nil, false, err
	}
	m.setShared(prev)
	return m, fromList, nil
}

// buildFixed takes prev's fixed part when its inputs are the same (known
// without comparing when a change list says the Ruleset-wide fields did
// not change), and builds it otherwise.
func (m *model) buildFixed(rs *synth.Ruleset, prev *model, changes *changeList) error {
	if prev != nil && (changes != nil && !changes.fields || prev.fixedIn.equal(rs)) {
		m.fixedIn, m.fixed = prev.fixedIn, prev.fixed
		return nil
	}
	fixed, err := fixedTable(rs)
	if err != nil {
		return err
	}
	m.fixedIn, m.fixed = fixedInputsOf(rs), fixed
	return nil
}

// comparePorts sets the fragments of every port of rs, reusing prev's
// (nil: none) for the ports that did not change.
func (m *model) comparePorts(rs *synth.Ruleset, prev *model) error {
	frags := make([]*fragment, len(rs.Services))
	matched := 0
	for i := range rs.Services {
		sp := rs.Services[i]
		var old *fragment
		if prev != nil {
			old = prev.lookup(i, sp.ID)
		}
		if old != nil {
			matched++
		}
		f, err := m.replace(old, sp)
		if err != nil {
			return fmt.Errorf("build %s table: %w", rs.Family, err)
		}
		frags[i] = f
	}
	m.frags = newFragList(frags)
	if prev != nil && matched < prev.frags.len() {
		m.recordGone(prev)
	}
	return nil
}

// editPorts sets the fragments of rs from prev's, visiting only the ports
// named. It returns false when the names cannot be right for rs.
func (m *model) editPorts(rs *synth.Ruleset, prev *model, names []synth.ServicePortName) (bool, error) {
	var edits []portEdit
	var present []int // positions in rs.Services of the named ports it has
	for _, name := range sortedNames(names) {
		j, inNext := slices.BinarySearchFunc(rs.Services, name, portNameCmp)
		if !between(rs.Services, j, inNext, name, portNameCmp) {
			return false, nil // not sorted by name
		}
		var sp *synth.ServicePort
		if inNext {
			sp, present = rs.Services[j], append(present, j)
		}
		old := prev.frags.find(name)
		f, err := m.replace(old, sp)
		if err != nil {
			return false, err
		}
		if f != old {
			edits = append(edits, portEdit{name, f})
		}
	}
	m.frags = prev.frags.edited(edits)
	// Every other port is assumed unchanged and in place; a port added or
	// removed without being named shows as a wrong length or position.
	if m.frags.len() != len(rs.Services) {
		return false, nil
	}
	for _, j := range present {
		if m.frags.at(j).sp.Name != rs.Services[j].Name {
			return false, nil
		}
	}
	return true, nil
}

// replace returns the fragment of sp (nil when the port is gone), reusing
// old when the port did not change, and records the change.
func (m *model) replace(old *fragment, sp *synth.ServicePort) (*fragment, error) {
	var f *fragment
	switch {
	case sp == nil:
	case old != nil && old.sp.Equal(sp):
		return old, nil
	default:
		var err error
		if f, err = buildFragment(sp, m.params, old); err != nil {
			return nil, err
		}
	}
	if old != nil || f != nil { // else named, but neither here nor there
		m.record(old, f)
	}
	return f, nil
}

func sortedNames(names []synth.ServicePortName) []synth.ServicePortName {
	out := slices.Clone(names)
	slices.SortFunc(out, synth.ServicePortName.Compare)
	return slices.Compact(out)
}

func portNameCmp(sp *synth.ServicePort, n synth.ServicePortName) int { return sp.Name.Compare(n) }

// between checks, in O(1), that the neighbours of the position i a binary
// search returned for name (found there or not) are ordered around it, as
// in a list sorted by name (Rulesets are): in an unsorted list the search
// would return a wrong position.
func between[T any](list []T, i int, found bool, name synth.ServicePortName, cmp func(T, synth.ServicePortName) int) bool {
	after := i
	if found {
		after++
	}
	return (i == 0 || cmp(list[i-1], name) < 0) && (after >= len(list) || cmp(list[after], name) > 0)
}

// startFrom takes prev's totals (prev may be nil: an empty model), which
// record then brings up to date port by port; the changes recorded are
// fragChanges(prev, m).
func (m *model) startFrom(prev *model) {
	m.refCount = map[sharedRef]int{}
	if prev == nil {
		return
	}
	for r, n := range prev.refCount {
		m.refCount[r] = n
	}
	m.fragRules, m.fragElems = prev.fragRules, prev.fragElems
	m.changesFrom = prev
}

// record notes that service port old (nil: new) became f (nil: gone).
func (m *model) record(old, f *fragment) {
	if old != nil {
		m.addTotals(old, -1)
	}
	if f != nil {
		m.addTotals(f, +1)
	}
	if m.changesFrom != nil {
		m.changes = append(m.changes, fragChange{prev: old, next: f})
	}
}

// recordGone records the ports of prev that m does not have.
func (m *model) recordGone(prev *model) {
	kept := make(map[string]bool, m.frags.len())
	for _, f := range m.frags.all() {
		kept[f.sp.ID] = true
	}
	for _, p := range prev.frags.all() {
		if !kept[p.sp.ID] {
			m.record(p, nil)
		}
	}
}

// addTotals adds (sign +1) or removes (-1) what fragment f programs and
// the shared chains it uses to the model's totals.
func (m *model) addTotals(f *fragment, sign int) {
	rules, elems := f.ownSize()
	m.fragRules += sign * rules
	m.fragElems += sign * elems
	for _, r := range f.refs {
		if m.refCount[r] += sign; m.refCount[r] == 0 {
			delete(m.refCount, r)
		}
	}
}

// setShared lists the shared chains refCount holds and builds them, or
// takes prev's when they are the same (same params, so the same chains).
func (m *model) setShared(prev *model) {
	m.refs = m.refs[:0:0]
	for r := range m.refCount {
		m.refs = append(m.refs, r)
	}
	slices.SortFunc(m.refs, sharedRefCmp)
	if prev != nil && slices.Equal(prev.refs, m.refs) {
		m.shared = prev.shared
	} else {
		m.shared = sharedChains(m.refs, m.params)
	}
}
