package nftables

// replaceTable is the planner's one fallback: it creates m's table from
// scratch, deleting any old table first when deleteOld is set. When a diff
// has built the whole table already (t not nil), that is sent. Otherwise
// the table's skeleton goes first, then the elements of the shared maps
// fragment by fragment, a message's worth per map at a time, so that a
// full sync never holds a second, sorted copy of a million elements. When
// two service ports hold the same key (only hand-made Rulesets do: synth
// gives every entry point one owner) the sorted whole table decides which
// one wins, as Render does.
func replaceTable(e emitter, m *model, t *table, deleteOld bool) int {
	if t == nil && hasDuplicateKeys(m) {
		t = m.materialize()
	}
	if t != nil {
		return replace(e, t, deleteOld)
	}
	t = m.skeleton()
	return replace(e, t, deleteOld) + streamElems(e, t, m)
}

// hasDuplicateKeys reports whether two fragments hold the same key in a
// map where each key has one owner (derived keys follow their entry's).
func hasDuplicateKeys(m *model) bool {
	x := &elemIndex{owner: map[mapKey]string{}}
	for _, f := range m.frags.all() {
		if x.addOwned(f); x.dups {
			return true
		}
	}
	return false
}

// streamElems emits the fragments' elements into the maps of t and
// returns how many it sent. Shared-set elements go out once.
func streamElems(e emitter, t *table, m *model) int {
	pending := map[string][]elem{}
	seen := map[mapKey]bool{} // shared-set keys sent
	n := 0
	flush := func(name string) {
		if es := pending[name]; len(es) > 0 {
			e.addElems(t, t.set(name), es)
			n += len(es)
			pending[name] = es[:0]
		}
	}
	for _, f := range m.frags.all() {
		f.eachElem(func(me mapElem) {
			if sharedSet(me.set) {
				k := keyOf(me)
				if seen[k] {
					return
				}
				seen[k] = true
			}
			pending[me.set] = append(pending[me.set], me.elem)
			if len(pending[me.set]) == elemsPerMessage {
				flush(me.set)
			}
		})
	}
	for _, s := range sharedMaps {
		flush(s.name)
	}
	return n
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
