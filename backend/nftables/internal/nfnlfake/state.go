package nfnlfake

import (
	"bytes"
	"slices"

	"github.com/google/nftables/expr"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// ruleset is everything the fake kernel holds: its tables, in creation
// order, as the kernel lists them.
type ruleset struct {
	tables []*table
}

type table struct {
	family nfnl.Family
	name   string
	flags  uint32
	chains []*chain // creation order
	sets   []*set
	handle uint64 // the last handle given to a rule of this table
}

type chain struct {
	decl  nfnl.Chain
	rules []*rule
}

// rule keeps the expressions as sent (raw) and decoded (exprs); the
// references are worked out once, when the rule is added.
type rule struct {
	handle uint64
	raw    []byte // NFTA_RULE_EXPRESSIONS
	udata  []byte
	exprs  []expr.Any
	chains []string // chains it jumps or goes to
	sets   []string // sets it looks up or updates
}

type set struct {
	decl  nfnl.Set // Elems unused: see elems
	id    uint32   // NFTA_SET_ID, meaningful within the batch that created it
	udata []byte
	elems []nfnl.Elem // sorted by elemCmp
}

// clone copies rs deeply enough that changing the copy (adding, removing
// or replacing objects) leaves rs as it was: a batch is applied to a
// clone, which replaces the ruleset only if every message succeeded.
// Rules and elements are never changed in place, so they are shared.
func (rs *ruleset) clone() *ruleset {
	out := &ruleset{tables: make([]*table, len(rs.tables))}
	for i, t := range rs.tables {
		ct := *t
		ct.chains = make([]*chain, len(t.chains))
		for j, c := range t.chains {
			cc := *c
			cc.rules = slices.Clone(c.rules)
			ct.chains[j] = &cc
		}
		ct.sets = make([]*set, len(t.sets))
		for j, s := range t.sets {
			cs := *s
			cs.elems = slices.Clone(s.elems)
			ct.sets[j] = &cs
		}
		out.tables[i] = &ct
	}
	return out
}

func (rs *ruleset) table(fam nfnl.Family, name string) *table {
	for _, t := range rs.tables {
		if t.family == fam && t.name == name {
			return t
		}
	}
	return nil
}

func (t *table) chain(name string) *chain {
	for _, c := range t.chains {
		if c.decl.Name == name {
			return c
		}
	}
	return nil
}

func (t *table) set(name string) *set {
	for _, s := range t.sets {
		if s.decl.Name == name {
			return s
		}
	}
	return nil
}

// chainUsers counts what refers to chain name: rules that jump or go to
// it and verdict map elements that do.
func (t *table) chainUsers(name string) int {
	n := 0
	for _, c := range t.chains {
		for _, r := range c.rules {
			if slices.Contains(r.chains, name) {
				n++
			}
		}
	}
	for _, s := range t.sets {
		for _, e := range s.elems {
			if e.Chain == name {
				n++
			}
		}
	}
	return n
}

// setUsers counts the rules that look set name up or update it (the
// kernel's set bindings).
func (t *table) setUsers(name string) int {
	n := 0
	for _, c := range t.chains {
		for _, r := range c.rules {
			if slices.Contains(r.sets, name) {
				n++
			}
		}
	}
	return n
}

// elemCmp orders elements by key; an interval end sorts after a start
// with the same key, so each element has one place.
func elemCmp(a, b nfnl.Elem) int {
	if c := bytes.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	return int(a.Flags&intervalEnd) - int(b.Flags&intervalEnd)
}

// find returns the index of the element with e's key (and interval end
// flag), or where it would go.
func (s *set) find(e nfnl.Elem) (int, bool) {
	return slices.BinarySearchFunc(s.elems, e, elemCmp)
}
