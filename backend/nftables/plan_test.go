package nftables

import (
	"strings"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestPlanDecides checks which of its outcomes plan picks for each kind of
// baseline, and that emitting the transaction sends what it decided.
func TestPlanDecides(t *testing.T) {
	next, _, err := buildModel(handRuleset(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := buildModel(masqAll(handRuleset()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	fam := synth.IPv4
	for _, tc := range []struct {
		name       string
		from       baseline
		next       *model
		want       string // delete, delta, replace, nothing
		deleteOld  bool
		firstLines []string
	}{
		{"known no table, none wanted", baseline{family: fam, none: true}, nil, "nothing", false, nil},
		{"known table, none wanted", baseline{family: fam, mayExist: true, applied: next}, nil, "delete", false,
			[]string{"add table ip svcnat", "delete table ip svcnat"}},
		{"known no table", baseline{family: fam, none: true}, next, "replace", false,
			[]string{"add table ip svcnat"}},
		{"unreadable kernel", baseline{family: fam, mayExist: true}, next, "replace", true,
			[]string{"add table ip svcnat", "delete table ip svcnat", "add table ip svcnat"}},
		{"kernel has no table", baseline{family: fam}, next, "replace", true,
			[]string{"add table ip svcnat", "delete table ip svcnat", "add table ip svcnat"}},
		{"unreadable kernel, none wanted", baseline{family: fam, mayExist: true}, nil, "delete", false,
			[]string{"add table ip svcnat", "delete table ip svcnat"}},
		{"same model", baseline{family: fam, mayExist: true, applied: next}, next, "delta", false, nil},
		{"other params", baseline{family: fam, mayExist: true, applied: other}, next, "delta", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx := plan(&tc.from, tc.next)
			got := "nothing"
			switch {
			case tx.deleteTable:
				got = "delete"
			case tx.delta != nil:
				got = "delta"
			case tx.replacement != nil:
				got = "replace"
			}
			if got != tc.want || tx.deleteOld != tc.deleteOld {
				t.Fatalf("plan decided %s (delete old %v), want %s (%v)", got, tx.deleteOld, tc.want, tc.deleteOld)
			}
			var w textEmitter
			n := tx.emit(&w)
			lines := splitLines(w.b.String())
			if (n == 0) != (len(lines) == 0) {
				t.Errorf("emit counted %d objects for %d commands", n, len(lines))
			}
			for i, l := range tc.firstLines {
				if i >= len(lines) || lines[i] != l {
					t.Fatalf("commands start %q, want %q", lines[:min(len(lines), len(tc.firstLines))], tc.firstLines)
				}
			}
			if tc.want == "delta" && tc.from.applied == tc.next && len(lines) != 0 {
				t.Errorf("an unchanged model sends %q", lines)
			}
		})
	}
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
