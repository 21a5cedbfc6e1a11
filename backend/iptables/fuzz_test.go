package iptables

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/netns/netnstest"
	"github.com/svcnat/svcnat/synth"
)

// maxFuzzInput caps a fuzz input: a manifest of this size already makes
// dozens of Services, while a multi-megabyte one makes iptables-restore
// --test run for seconds, past the bound of netnstest.Tool.Run.
const maxFuzzInput = 64 << 10

// FuzzRenderLoads renders whatever synth makes of arbitrary manifests and
// checks that each family's restore input loads: iptables-legacy-restore
// --test inside a scratch namespace (legacy checks every match and target
// with the kernel's xtables modules).
func FuzzRenderLoads(f *testing.F) {
	netns := newNetNS(f)
	cfg := synth.Config{NodeName: "node-1", NodeIPs: []netip.Addr{mustAddr("192.168.1.1"), mustAddr("fd00::1")},
		ClusterCIDRs: []netip.Prefix{mustPrefix("10.128.0.0/9")}}
	checked := map[string]bool{} // scripts already loaded: most inputs repeat one
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			t.Skip("input larger than maxFuzzInput")
		}
		in, _ := (&manifest.Loader{}).Read("fuzz.yaml", strings.NewReader(string(data)))
		res := synth.Build(in, cfg)
		for _, rs := range res.Rulesets() {
			r, err := renderRuleset(rs, goldenOpts)
			if err != nil {
				t.Fatalf("render %s: %v", rs.Family, err)
			}
			if text := r.text(); len(rs.Services) > 0 && !checked[text] {
				tool := restoreTestTool(rs.Family)
				if out, err := tool.Run(t, netns, []byte(text)); err != nil {
					t.Fatalf("%s --test: %v: %s\n%s", tool.Argv[0], err, out, numbered([]byte(text)))
				}
				checked[text] = true
			}
		}
	})
}

// restoreTestTool is iptables-legacy-restore --test for family; its probe
// opens the nat table, as every rendered script does.
func restoreTestTool(family synth.Family) netnstest.Tool {
	return netnstest.Tool{
		Argv:  []string{flavour("legacy").binary(family, "restore"), "--test", "--noflush"},
		Probe: []byte("*nat\nCOMMIT\n"),
	}
}
