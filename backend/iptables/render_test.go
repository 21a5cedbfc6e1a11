package iptables

import (
	"bytes"
	"testing"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

var goldenOpts = RenderOptions{RandomFully: true}

func TestScenarioGoldens(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			res := synth.Build(s.Input, s.Config)
			text, err := Render(res.Rulesets(), goldenOpts)
			if err != nil {
				t.Fatal(err)
			}
			scenario.CheckGolden(t, s, "iptables.golden", text)
			again, err := Render(res.Rulesets(), goldenOpts)
			if err != nil || !bytes.Equal(text, again) {
				t.Fatalf("Render is not deterministic (err %v)", err)
			}
		})
	}
}

// TestRestoreAccepts feeds every rendered script to iptables-restore --test
// (and ip6tables-restore) of both flavours inside a throwaway namespace.
func TestRestoreAccepts(t *testing.T) {
	netns := newNetNS(t)
	check := func(t *testing.T, rs []*synth.Ruleset) {
		fams, err := renderAll(rs, goldenOpts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range fams {
			if r == nil {
				continue
			}
			for _, f := range []flavour{"nft", "legacy"} {
				restoreTest(t, netns, f, r.family, []byte(r.text()))
			}
		}
	}
	t.Run("hand", func(t *testing.T) { check(t, []*synth.Ruleset{handRuleset()}) })
	for _, s := range scenario.All(t) {
		res := synth.Build(s.Input, s.Config)
		t.Run(s.Name, func(t *testing.T) { check(t, res.Rulesets()) })
	}
}
