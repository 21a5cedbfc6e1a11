package nftables

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

// FuzzRenderLoads renders whatever synth makes of arbitrary manifests and
// checks that the script loads: nft -c -f inside a scratch namespace.
func FuzzRenderLoads(f *testing.F) {
	ns := newNetNS(f)
	cfg := synth.Config{NodeName: "node-1", NodeIPs: addrs("192.168.1.1", "fd00::1"),
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.128.0.0/9")}}
	checked := map[string]bool{} // scripts already loaded: most inputs repeat one
	f.Fuzz(func(t *testing.T, data []byte) {
		in, _ := (&manifest.Loader{}).Read("fuzz.yaml", strings.NewReader(string(data)))
		res := synth.Build(in, cfg)
		script, err := Render(res.Rulesets())
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if len(script) > 0 && !checked[string(script)] {
			nftScript(t, ns, script, true)
			checked[string(script)] = true
		}
	})
}
