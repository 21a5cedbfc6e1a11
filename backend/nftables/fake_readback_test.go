package nftables

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// TestFakeReadsBackLikeTheKernel (root) programs every scenario into a
// namespace and into the fake, and reads both back through nfnl.Reader:
// declarations, elements and rules (decoded) must be the same, so the
// backend's reconcile path sees the fake as it sees the kernel.
func TestFakeReadsBackLikeTheKernel(t *testing.T) {
	real := newBackend(t, newNetNS(t)) // skipped without root
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			if err := real.Cleanup(context.Background()); err != nil { // each scenario from scratch, as in the fake
				t.Fatal(err)
			}
			fake, _ := newFakeBackend(t)
			res := synth.Build(s.Input, s.Config)
			rs := res.Rulesets()
			program(t, real, rs, nil)
			program(t, fake, rs, nil)
			for _, fam := range []nfnl.Family{nfnl.IPv4, nfnl.IPv6} {
				want, got := readDump(t, real.kernel, fam), readDump(t, fake.kernel, fam)
				if got != want {
					t.Errorf("family %d: the fake reads back differently (-kernel +fake):\n%s", fam, gocmp.Diff(want, got))
				}
			}
		})
	}
}

// readDump prints what a Reader gives of svcnat's table of family fam:
// chains and sets in dump order, elements sorted, rules decoded.
func readDump(t *testing.T, k nfnl.Kernel, fam nfnl.Family) string {
	t.Helper()
	r, err := k.Read(fam, TableName)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	kt, err := r.Table()
	if err != nil || kt == nil {
		return fmt.Sprintf("no table (%v)", err)
	}
	if err := r.Chains(kt); err != nil {
		t.Fatal(err)
	}
	if err := r.Sets(kt); err != nil {
		t.Fatal(err)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "table flags %d\n", kt.Flags)
	for _, s := range kt.Sets {
		if err := r.Elems(s); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(s.Elems, func(a, b nfnl.Elem) int {
			return cmp.Or(bytes.Compare(a.Key, b.Key), cmp.Compare(a.Flags, b.Flags))
		})
		elems := s.Elems
		s.Elems = nil
		fmt.Fprintf(&w, "set %+v\n", *s)
		for _, e := range elems {
			fmt.Fprintf(&w, "\telem %+v\n", e)
		}
	}
	for _, c := range kt.Chains {
		fmt.Fprintf(&w, "chain %+v\n", *c)
		if err := r.Rules(c, func(exprs, udata []byte) {
			es, err := nfnlfake.DecodeRule(fam, exprs)
			fmt.Fprintf(&w, "\trule %q err %v:", udata, err)
			for _, e := range es {
				fmt.Fprintf(&w, " %T%+v", e, e)
			}
			w.WriteString("\n")
		}); err != nil {
			t.Fatal(err)
		}
	}
	return w.String()
}
