package nftables

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/netns/netnstest"
	"github.com/svcnat/svcnat/synth"
)

// maxFuzzInput caps a fuzz input: a manifest of this size already makes
// dozens of Services, while a multi-megabyte one makes nft -c run for
// seconds, past the bound of netnstest.Tool.Run.
const maxFuzzInput = 64 << 10

// FuzzRenderLoads renders whatever synth makes of arbitrary manifests and
// checks that the script loads: nft -c -f inside a scratch namespace.
func FuzzRenderLoads(f *testing.F) {
	ns := newNetNS(f)
	cfg := synth.Config{NodeName: "node-1", NodeIPs: addrs("192.168.1.1", "fd00::1"),
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.128.0.0/9")}}
	checked := map[string]bool{} // scripts already loaded: most inputs repeat one
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip("input larger than maxFuzzInput")
		}
		in, _ := (&manifest.Loader{}).Read("fuzz.yaml", strings.NewReader(string(data)))
		res := synth.Build(in, cfg)
		script, err := Render(res.Rulesets())
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if len(script) > 0 && !checked[string(script)] {
			if out, err := nftCheck.Run(t, ns, script); err != nil {
				t.Fatalf("nft -c: %v\n%s\nscript:\n%s", err, out, numbered(script))
			}
			checked[string(script)] = true
		}
	})
}

// nftCheck is nft -c: the kernel validates the whole transaction and then
// aborts it. Its probe is a one-table transaction.
var nftCheck = netnstest.Tool{
	Argv:  []string{"/usr/sbin/nft", "-c", "-f", "-"},
	Probe: []byte("add table ip svcnat-probe\n"),
}
