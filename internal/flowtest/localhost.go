package flowtest

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/synth"
)

// Localhost checks kube-proxy's localhost rule on the seed scenario: a
// NodePort answers on the node's address, but 127.0.0.1:nodePort (and
// [::1]:nodePort) from the node itself is refused, and route_localnet,
// which would make loopback DNAT possible, stays 0 in the node namespace.
func Localhost(t *testing.T, newBackend Factory) {
	s := load(t, "seed-nodeport")
	res := synth.Build(s.Input, s.Config)
	e := newEnv(t, s, res)
	be := newBackend(t, e.lab.Node.Path())
	ctx := context.Background()
	if _, err := backend.Apply(ctx, be, res.Rulesets(), nil); err != nil {
		t.Fatalf("apply: %v", err)
	}
	node := e.lab.Node
	r, err := node.Dial(ctx, netns.TCP, nodePort, dnatWait)
	if err != nil || r.Server.Port() != 8080 {
		t.Fatalf("%s from the node: %v %v, want an endpoint", nodePort, r, err)
	}
	for _, dst := range []string{"127.0.0.1:30080", "[::1]:30080"} {
		r, err := node.Dial(ctx, netns.TCP, netip.MustParseAddrPort(dst), rejectWait)
		if !netns.IsRefused(err) {
			t.Errorf("%s from the node: reply %v, error %v; want refused", dst, r, err)
		}
	}
	for _, dev := range []string{"all", "default", "lo", "eth0"} {
		if v := sysctl(t, node, "net/ipv4/conf/"+dev+"/route_localnet"); v != "0" {
			t.Errorf("route_localnet of %s in the node namespace is %q, want 0", dev, v)
		}
	}
}

// sysctl reads /proc/sys/<key> inside h.
func sysctl(t *testing.T, h *netns.Host, key string) string {
	t.Helper()
	var v []byte
	err := h.Do(func() (err error) {
		v, err = os.ReadFile("/proc/sys/" + key)
		return err
	})
	if err != nil {
		t.Fatal(fmt.Errorf("read %s in %s: %w", key, h, err))
	}
	return strings.TrimSpace(string(v))
}
