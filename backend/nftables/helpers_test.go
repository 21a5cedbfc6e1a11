package nftables

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/netns/netnstest"
	"github.com/svcnat/svcnat/synth"
)

// newNetNS creates a throwaway network namespace and returns its path; it
// is deleted when the test ends, also on failure.
func newNetNS(t testing.TB) string {
	t.Helper()
	return netnstest.Scratch(t, "nft")
}

// nftIn runs the nft binary inside the namespace at path.
func nftIn(t testing.TB, ns string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", filepath.Base(ns), "/usr/sbin/nft"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// nftScript writes script to a file and runs nft -f (with -c when check).
func nftScript(t testing.TB, ns string, script []byte, check bool) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.nft")
	if err := os.WriteFile(f, script, 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", f}
	if check {
		args = []string{"-c", "-f", f}
	}
	if out, err := nftIn(t, ns, args...); err != nil {
		t.Fatalf("nft %s: %v\n%s\nscript:\n%s", strings.Join(args, " "), err, out, numbered(script))
	}
}

func numbered(b []byte) string {
	var s strings.Builder
	for i, l := range strings.Split(string(b), "\n") {
		fmt.Fprintf(&s, "%4d %s\n", i+1, l)
	}
	return s.String()
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

func ep(s string, local bool) synth.Endpoint {
	ap := netip.MustParseAddrPort(s)
	return synth.Endpoint{Addr: ap.Addr(), Port: ap.Port(), Local: local}
}

// handRuleset is a small IPv4 Ruleset touching every branch of the layout,
// used until synth.Build and the shared scenarios exist.
func handRuleset() *synth.Ruleset {
	a := ep("10.244.1.2:8080", true)
	b := ep("10.244.2.3:8080", false)
	c := ep("10.244.3.4:8080", false)
	return &synth.Ruleset{
		Family:        synth.IPv4,
		NodeIPs:       addrs("192.168.1.1"),
		NodePortAddrs: addrs("192.168.1.1"),
		ClusterCIDRs:  prefixes("10.244.0.0/16"),
		ServiceCIDRs:  prefixes("10.96.0.0/12"),
		ClusterIPs:    addrs("10.96.0.10", "10.96.0.11", "10.96.0.12", "10.96.0.13"),
		Services: []*synth.ServicePort{
			{Name: synth.ServicePortName{Namespace: "default", Name: "web", Port: "http", Protocol: synth.TCP},
				ID: "WEBHTTPAAAAAAAAA", ClusterIP: netip.MustParseAddr("10.96.0.10"), Port: 80, NodePort: 30080,
				ExternalIPs: addrs("192.168.1.100"), LoadBalancerIPs: addrs("203.0.113.7"),
				SourceRanges:     prefixes("198.51.100.0/24", "192.168.1.0/24"),
				ClusterEndpoints: []synth.Endpoint{a, b, c}, LocalEndpoints: []synth.Endpoint{a}},
			{Name: synth.ServicePortName{Namespace: "default", Name: "local", Protocol: synth.UDP},
				ID: "LOCALAAAAAAAAAAA", ClusterIP: netip.MustParseAddr("10.96.0.11"), Port: 53, NodePort: 30053,
				ExternalPolicyLocal: true, AffinitySeconds: 10800,
				ClusterEndpoints: []synth.Endpoint{a, b}, LocalEndpoints: []synth.Endpoint{a}},
			{Name: synth.ServicePortName{Namespace: "default", Name: "empty", Protocol: synth.SCTP},
				ID: "EMPTYAAAAAAAAAAA", ClusterIP: netip.MustParseAddr("10.96.0.12"), Port: 9, NodePort: 30009},
			{Name: synth.ServicePortName{Namespace: "kube-system", Name: "itp", Protocol: synth.TCP},
				ID: "ITPAAAAAAAAAAAAA", ClusterIP: netip.MustParseAddr("10.96.0.13"), Port: 443,
				InternalPolicyLocal: true, ClusterEndpoints: []synth.Endpoint{c}},
		},
	}
}

func handRuleset6() *synth.Ruleset {
	a := ep("[fd00:10:244::2]:8080", true)
	return &synth.Ruleset{
		Family:        synth.IPv6,
		NodePortAddrs: addrs("fd00::1"),
		ClusterCIDRs:  prefixes("fd00:10:244::/64"),
		ServiceCIDRs:  prefixes("fd00:10:96::/112"),
		ClusterIPs:    addrs("fd00:10:96::10"),
		Services: []*synth.ServicePort{
			{Name: synth.ServicePortName{Namespace: "default", Name: "web", Port: "http", Protocol: synth.TCP},
				ID: "WEB6AAAAAAAAAAAA", ClusterIP: netip.MustParseAddr("fd00:10:96::10"), Port: 80, NodePort: 30080,
				AffinitySeconds: 60, ClusterEndpoints: []synth.Endpoint{a}, LocalEndpoints: []synth.Endpoint{a}},
		},
	}
}

// diffText is what `svcnat diff` prints: the text of a plan that compares
// every service port.
func diffText(ctx context.Context, b backend.Backend, rs []*synth.Ruleset) ([]byte, error) {
	p, err := b.Plan(ctx, rs, nil)
	return []byte(p.String()), err
}
