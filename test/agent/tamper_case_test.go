package agent

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// tamperSyncPeriod is the --sync-period of the tampering case: every
// periodic sync compares the kernel with the wanted rules and repairs them.
const tamperSyncPeriod = 2 * time.Second

// tampering lists, per backend, hand-made damage the agent must repair
// without any file change: each breaks the Service's traffic.
var tampering = map[string][][]string{
	"nftables": {
		{"nft", "delete", "table", "ip", "svcnat"},
		{"nft", "flush", "table", "ip", "svcnat"},
	},
	"iptables": {
		{"iptables-nft", "-t", "nat", "-F", "SVCNAT-SERVICES"},
		{"iptables-nft", "-t", "nat", "-D", "PREROUTING", "-m", "comment", "--comment", "svcnat service portals", "-j", "SVCNAT-SERVICES"},
	},
}

// TestTamperingRepaired: rules deleted or flushed by hand in the node come
// back within one --sync-period (plus the time to notice).
func TestTamperingRepaired(t *testing.T) {
	forEachBackend(t, testTamperingRepaired)
}

func testTamperingRepaired(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1})
	f.write(t, web(on("node-1", pod1)...))
	startAgent(t, f.lab, f.dir, agentOpts{backend: backend, syncPeriod: tamperSyncPeriod})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	dst := netip.AddrPortFrom(webIP, 80)
	cl := f.lab.Client
	within(ctx, t, "first sync", time.Now(), startLimit, answeredBy(cl, netns.TCP, dst, pod1))
	for _, argv := range tampering[backend] {
		what := strings.Join(argv, " ")
		if _, err := f.lab.Node.Exec(ctx, argv...); err != nil {
			t.Fatal(err)
		}
		since := time.Now()
		if err := unreachable(cl, netns.TCP, dst)(ctx); err != nil {
			t.Fatalf("%s did not break the traffic: %v", what, err)
		}
		within(ctx, t, what, since, tamperSyncPeriod+time.Second, answeredBy(cl, netns.TCP, dst, pod1))
	}
}
