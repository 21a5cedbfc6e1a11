package iptables

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os/exec"
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
	return netnstest.Scratch(t, "ipt")
}

// restoreTest runs `<flavour>-restore --test` on script inside netns.
func restoreTest(t testing.TB, netns string, f flavour, fam synth.Family, script []byte) {
	t.Helper()
	bin := f.binary(fam, "restore")
	cmd := exec.Command("nsenter", "--net="+netns, "--", bin, "--test", "--noflush")
	cmd.Stdin = bytes.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s --test: %v: %s\n%s", bin, err, out, numbered(script))
	}
}

func numbered(script []byte) string {
	var b strings.Builder
	for i, l := range strings.Split(string(script), "\n") {
		fmt.Fprintf(&b, "%4d %s\n", i+1, l)
	}
	return b.String()
}

var (
	mustAddr   = netip.MustParseAddr
	mustPrefix = netip.MustParsePrefix
)

// handRuleset is a small IPv4 Ruleset built by hand, covering every chain
// kind: affinity, NodePort, LB with source ranges, ETP Local, no endpoints.
func handRuleset() *synth.Ruleset {
	web := synth.ServicePort{
		Name: synth.ServicePortName{Namespace: "default", Name: "web", Port: "http", Protocol: synth.TCP},
		ID:   "WEBAAAAAAAAAAAAA", ClusterIP: mustAddr("10.96.0.10"), Port: 80, NodePort: 30080,
		LoadBalancerIPs: []netip.Addr{mustAddr("203.0.113.7")}, SourceRanges: []netip.Prefix{mustPrefix("198.51.100.0/24")},
		ExternalPolicyLocal: true, AffinitySeconds: 10800,
		ClusterEndpoints: []synth.Endpoint{{Addr: mustAddr("10.244.1.2"), Port: 8080, Local: true}, {Addr: mustAddr("10.244.2.2"), Port: 8080}},
		LocalEndpoints:   []synth.Endpoint{{Addr: mustAddr("10.244.1.2"), Port: 8080, Local: true}},
	}
	dns := synth.ServicePort{
		Name: synth.ServicePortName{Namespace: "kube-system", Name: "dns", Port: "dns", Protocol: synth.UDP},
		ID:   "DNSAAAAAAAAAAAAA", ClusterIP: mustAddr("10.96.0.53"), Port: 53, ExternalIPs: []netip.Addr{mustAddr("192.168.1.200")},
		ClusterEndpoints: []synth.Endpoint{{Addr: mustAddr("10.244.1.5"), Port: 53}, {Addr: mustAddr("10.244.2.5"), Port: 53}, {Addr: mustAddr("10.244.3.5"), Port: 53}},
	}
	empty := synth.ServicePort{
		Name: synth.ServicePortName{Namespace: "default", Name: "empty", Protocol: synth.SCTP},
		ID:   "EMPTYAAAAAAAAAAA", ClusterIP: mustAddr("10.96.0.99"), Port: 9, NodePort: 30009,
	}
	return &synth.Ruleset{
		Family: synth.IPv4, NodeIPs: []netip.Addr{mustAddr("192.168.1.100")}, NodePortAddrs: []netip.Addr{mustAddr("192.168.1.100")},
		ClusterCIDRs: []netip.Prefix{mustPrefix("10.244.0.0/16")}, ServiceCIDRs: []netip.Prefix{mustPrefix("10.96.0.0/16")},
		ClusterIPs: []netip.Addr{mustAddr("10.96.0.10"), mustAddr("10.96.0.53"), mustAddr("10.96.0.99")},
		Services:   []*synth.ServicePort{&web, &empty, &dns},
	}
}

// diffText is what `svcnat diff` prints: the text of a plan that compares
// every service port.
func diffText(ctx context.Context, b backend.Backend, rs []*synth.Ruleset) ([]byte, error) {
	p, err := b.Plan(ctx, rs, nil)
	return []byte(p.String()), err
}
