package synth_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// TestScenarioFlows checks every packet-flow table against the tracer, and
// the warnings against warnings.golden.
func TestScenarioFlows(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			res := synth.Build(s.Input, s.Config)
			var b strings.Builder
			for _, w := range res.Warnings {
				fmt.Fprintln(&b, w)
			}
			scenario.CheckGolden(t, s, "warnings.golden", []byte(b.String()))
			if len(s.Flows) == 0 {
				t.Fatal("scenario has no packet-flow table")
			}
			for _, f := range s.Flows {
				rs := res.Ruleset(synth.FamilyOf(f.Dst.Addr()))
				tr := rs.Trace(f.Packet())
				if err := scenario.CheckTrace(f, tr); err != nil {
					t.Errorf("flows.txt:%d %s: %v\npath: %s", f.Line, f, err, strings.Join(tr.Path, "; "))
				}
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	for _, s := range scenario.All(t) {
		a := synth.Build(s.Input, s.Config)
		in := s.Input
		slices.Reverse(in.Services)
		slices.Reverse(in.EndpointSlices)
		b := synth.Build(in, s.Config)
		if describe(a) != describe(b) {
			t.Errorf("%s: Build depends on input order", s.Name)
		}
	}
}

// describe prints a Result's Rulesets, their ports' values (not their
// addresses) included, and its warnings.
func describe(r synth.Result) string {
	var b strings.Builder
	for _, rs := range []*synth.Ruleset{r.IPv4, r.IPv6} {
		c := *rs
		c.Services = nil
		fmt.Fprint(&b, c)
		for _, sp := range rs.Services {
			fmt.Fprint(&b, *sp)
		}
	}
	fmt.Fprint(&b, r.Warnings)
	return b.String()
}
