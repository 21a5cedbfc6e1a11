package nftables

import (
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestTableCounts: per-family counts add up to the Apply's totals, and
// each family reports only its own table.
func TestTableCounts(t *testing.T) {
	b := newBackend(t, newNetNS(t))
	counted := func() map[synth.Family][2]int {
		got := map[synth.Family][2]int{}
		b.TableCounts(func(fam synth.Family, table string, rules, elements, _ int) {
			if table != TableName {
				t.Errorf("table %q", table)
			}
			got[fam] = [2]int{rules, elements}
		})
		return got
	}
	if got := counted(); len(got) != 0 {
		t.Errorf("before any Apply: %v, want nothing", got)
	}
	st := mustApply(t, b, handRuleset(), handRuleset6())
	got := counted()
	v4, v6 := got[synth.IPv4], got[synth.IPv6]
	if v4[0] == 0 || v6[0] == 0 || v4[0]+v6[0] != st.Rules || v4[1]+v6[1] != st.Elements {
		t.Errorf("counts %v, Apply's totals %d rules %d elements", got, st.Rules, st.Elements)
	}
	st = mustApply(t, b, handRuleset())
	if got := counted(); len(got) != 1 || got[synth.IPv4][0] != st.Rules {
		t.Errorf("IPv4 only: %v, Apply's totals %d rules", got, st.Rules)
	}
}
