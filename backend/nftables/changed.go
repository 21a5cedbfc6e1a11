package nftables

import (
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// buildModelChanged is buildModel for a Ruleset that differs from the one
// prev was built from only in the service ports named, and in Ruleset-wide
// fields only if fields is set. It visits only those ports:
// every other fragment is shared with prev (fraglist.go). It returns
// false when it cannot be used (no prev, other params) or when the names
// cannot be right (the ports do not line up with rs); the caller then
// builds the model the ordinary way.
func buildModelChanged(rs *synth.Ruleset, prev *model, names []synth.ServicePortName, fields bool) (*model, bool, error) {
	if prev == nil || paramsOf(rs) != prev.params {
		return nil, false, nil
	}
	m := &model{params: prev.params, fixedIn: prev.fixedIn, fixed: prev.fixed}
	if fields && !prev.fixedIn.equal(rs) {
		fixed, err := fixedTable(rs)
		if err != nil {
			return nil, false, err
		}
		m.fixedIn, m.fixed = fixedInputsOf(rs), fixed
	}
	m.startFrom(prev)
	var edits []portEdit
	var present []int // positions in rs.Services of the named ports it has
	for _, name := range sortedNames(names) {
		j, inNext := slices.BinarySearchFunc(rs.Services, name, portNameCmp)
		if !between(rs.Services, j, inNext, name, portNameCmp) {
			return nil, false, nil // not sorted by name
		}
		var sp *synth.ServicePort
		if inNext {
			sp, present = &rs.Services[j], append(present, j)
		}
		old := prev.frags.find(name)
		f, err := m.replace(old, sp)
		if err != nil {
			return nil, false, err
		}
		if f != old {
			edits = append(edits, portEdit{name, f})
		}
	}
	m.frags = prev.frags.edited(edits)
	// Every other port is assumed unchanged and in place; a port added or
	// removed without being named shows as a wrong length or position.
	if m.frags.len() != len(rs.Services) {
		return nil, false, nil
	}
	for _, j := range present {
		if m.frags.at(j).sp.Name != rs.Services[j].Name {
			return nil, false, nil
		}
	}
	m.setShared(prev)
	return m, true, nil
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

func portNameCmp(sp synth.ServicePort, n synth.ServicePortName) int { return sp.Name.Compare(n) }

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
