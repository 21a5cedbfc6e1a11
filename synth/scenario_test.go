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
		if fmt.Sprint(*a.IPv4, *a.IPv6, a.Warnings) != fmt.Sprint(*b.IPv4, *b.IPv6, b.Warnings) {
			t.Errorf("%s: Build depends on input order", s.Name)
		}
	}
}
