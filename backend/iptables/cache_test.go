package iptables

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/synth"
)

// TestRenderCacheMatchesFreshRender: a sequence of Rulesets rendered with
// one cache gives, at every step, exactly the text of a fresh render.
func TestRenderCacheMatchesFreshRender(t *testing.T) {
	a := genRuleset(300, 3, 1)
	b := genRuleset(300, 3, 2) // other endpoint ports
	b.Services = append(b.Services[:5:5], b.Services[9:]...)
	b.Services[20].AffinitySeconds = 60
	b.Services[30].ClusterEndpoints = b.Services[30].ClusterEndpoints[1:]
	c := *b
	c.MasqueradeAll = true // a Ruleset-level change invalidates everything
	d := *a.Clone()
	d.Services[7].ExternalIPs = append(d.Services[7].ExternalIPs, mustAddr("192.0.2.7"))
	e := *a.Clone() // one field of one ServicePort
	e.Services[20].AffinitySeconds = 60
	dup := *a.Clone()
	dup.Services[3].ID = dup.Services[4].ID // invalid, but must not differ either
	var cache renderCache
	for i, rs := range []*synth.Ruleset{a, b, b, &c, a, &d, a, &e, a, &dup, a} {
		got, err := renderRulesetCached(rs, goldenOpts, &cache)
		if err != nil {
			t.Fatal(err)
		}
		want, err := renderRuleset(rs, goldenOpts)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := got.text(), want.text(); g != w {
			t.Fatalf("step %d: cached render differs:\n%s", i, cmp.Diff(w, g))
		}
	}
}
