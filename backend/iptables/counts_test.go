package iptables

import (
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestTableCounts: per-table rules add up to the Apply's total, and the
// second identical Apply writes nothing.
func TestTableCounts(t *testing.T) {
	forEachFlavour(t, func(t *testing.T, netns string, mode Mode) {
		b := newBackend(t, netns, mode)
		st := apply(t, b, handRuleset())
		sum := func() (rules, written int) {
			b.TableCounts(func(fam synth.Family, table string, r, _, w int) {
				if fam != synth.IPv4 || (table != "nat" && table != "filter") {
					t.Errorf("counted %s %s", fam, table)
				}
				rules += r
				written += w
			})
			return rules, written
		}
		rules, written := sum()
		if rules != st.Rules || written == 0 {
			t.Errorf("counted %d rules (%d written), Apply's total %d", rules, written, st.Rules)
		}
		apply(t, b, handRuleset())
		if _, written := sum(); written != 0 {
			t.Errorf("an identical Apply wrote %d rules", written)
		}
	})
}
