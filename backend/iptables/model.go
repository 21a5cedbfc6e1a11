package iptables

import (
	"maps"
	"slices"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// chainPrefix starts the name of every chain svcnat owns.
const chainPrefix = "SVCNAT-"

// maxChainName is the longest chain name the kernel accepts
// (XT_EXTENSION_MAXNAMELEN - 1).
const maxChainName = 28

// table is one netfilter table's worth of svcnat chains: chain name → the
// chain's rules, each a complete "-A CHAIN ..." line in iptables-save form.
type table map[string][]string

// chains returns the chain names, sorted as iptables-save sorts them.
func (t table) chains() []string { return slices.Sorted(maps.Keys(t)) }

func (t table) ruleCount() int {
	n := 0
	for _, rules := range t {
		n += len(rules)
	}
	return n
}

// add appends one rule to chain, creating the chain if needed. The rule
// is built in one allocation: at 10k Services render runs ~340k times
// per Apply, and Join plus concatenation doubled its garbage.
func (t table) add(chain string, args ...string) {
	n := len("-A ") + len(chain)
	for _, a := range args {
		n += 1 + len(a)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("-A ")
	b.WriteString(chain)
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(a)
	}
	t[chain] = append(t[chain], b.String())
}

// declare makes sure chain exists, even without rules.
func (t table) declare(chain string) {
	if _, ok := t[chain]; !ok {
		t[chain] = nil
	}
}

// Tables are the names of the tables svcnat writes, in restore order.
var tableNames = []string{"filter", "nat"}

// rendered is the whole state of one IP family.
type rendered struct {
	family synth.Family
	tables map[string]table // by table name
	// jumps holds, per table, svcnat's jump rules in built-in chains as
	// "-A CHAIN ..." lines, one per copy the kernel holds.
	jumps map[string][]string
}

func newRendered(f synth.Family) *rendered {
	r := &rendered{family: f, tables: map[string]table{}, jumps: map[string][]string{}}
	for _, name := range tableNames {
		r.tables[name] = table{}
	}
	return r
}

// text is the full iptables-restore --noflush input for this family, laid
// out like iptables-save output (chains sorted, rules grouped by chain).
func (r *rendered) text() string {
	var b strings.Builder
	for _, name := range tableNames {
		writeFull(&b, name, r.tables[name])
	}
	return b.String()
}

func writeFull(b *strings.Builder, name string, t table) {
	b.WriteString("*" + name + "\n")
	chains := t.chains()
	for _, c := range chains {
		b.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range chains {
		for _, r := range t[c] {
			b.WriteString(r + "\n")
		}
	}
	b.WriteString("COMMIT\n")
}
