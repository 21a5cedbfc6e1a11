package netns

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// TestFleetPodsReachEachOther checks the flat pod network: a client pod on
// node-1, and one on node-3 itself, reach arbitrary pod addresses of node-3
// directly, the reply
// names that address, and the server sees the client pod's address.
func TestFleetPodsReachEachOther(t *testing.T) {
	if err := Supported(); err != nil {
		t.Skipf("netns lab unavailable: %v", err)
	}
	f, err := NewFleet("svcnat-fleettest", 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	to := f.Nodes[2]
	if _, err := to.Pods.ServeAnyAddr(8080); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, from := range []*FleetNode{f.Nodes[0], to} {
		checkFleetDials(ctx, t, from, to)
	}
	if got := to.PodIP(0); got == to.ClientIP || !to.PodCIDR.Contains(got) {
		t.Errorf("PodIP(0) = %s: not a pod address of %s other than %s", got, to.PodCIDR, to.ClientIP)
	}
}

func checkFleetDials(ctx context.Context, t *testing.T, from, to *FleetNode) {
	t.Helper()
	for _, i := range []int{0, 5, 300, MaxFleetPods - 1} {
		dst := netip.AddrPortFrom(to.PodIP(i), 8080)
		r, err := from.Client.Dial(ctx, TCP, dst, 2*time.Second)
		if err != nil {
			t.Fatalf("dial %s from %s: %v", dst, from.Name, err)
		}
		if r.Server != dst || r.SeenSource.Addr() != from.ClientIP {
			t.Errorf("dial %s: reply %v, want server %s and source %s", dst, r, dst, from.ClientIP)
		}
	}
}
