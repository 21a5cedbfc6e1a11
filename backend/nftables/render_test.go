package nftables

import (
	"bytes"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

func TestRenderHandCheck(t *testing.T) {
	script, err := Render([]*synth.Ruleset{handRuleset(), handRuleset6()})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Render([]*synth.Ruleset{handRuleset(), handRuleset6()})
	if !bytes.Equal(script, again) {
		t.Fatal("Render is not deterministic")
	}
	t.Logf("\n%s", script)
	nftScript(t, newNetNS(t), script, true)
}
