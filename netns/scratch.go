package netns

import (
	"testing"
)

// Scratch creates one empty network namespace, named
// svcnat-<6 random hex>-<role>, with only loopback (up) in it, and returns
// its path (/run/netns/NAME). It is deleted when the test ends, also on
// failure. Use it to load rules that need no traffic (nft -c, restore
// --test, listing what an applier programmed); use NewLab for packets.
// The test is skipped when not run as root or without iproute2.
func Scratch(t testing.TB, role string) string {
	t.Helper()
	if err := Supported(); err != nil {
		t.Skipf("network namespace unavailable: %v", err)
	}
	suffix, err := randomHex(3)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "svcnat-" + suffix
	name := prefix + "-" + role
	if err := claim(prefix); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(prefix) })
	if err := addNetns(name); err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := delNetns(name); err != nil {
			t.Errorf("netns: %v", err)
		}
	})
	if err := runIP("", "-n", name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return nsPath(name)
}
