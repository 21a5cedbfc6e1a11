package nftables

import (
	"testing"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// TestGolden renders every shared scenario, compares with nft.golden
// (-update rewrites it), checks the script with `nft -c -f` and
// cross-checks the netlink applier against `nft -f` of the same script.
func TestGolden(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			res := synth.Build(s.Input, s.Config)
			rs := res.Rulesets()
			script, err := Render(rs)
			if err != nil {
				t.Fatal(err)
			}
			scenario.CheckGolden(t, s, "nft.golden", script)
			nftScript(t, newNetNS(t), script, true)
			crossCheck(t, rs...)
		})
	}
}
