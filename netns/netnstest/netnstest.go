package netnstest

import (
	"testing"

	"github.com/svcnat/svcnat/netns"
)

// NewLab is netns.New for tests: it skips the test when not run as root or
// without iproute2, fails it on error, and deletes everything in
// t.Cleanup.
func NewLab(t testing.TB, opts ...netns.Option) *netns.Lab {
	t.Helper()
	if err := netns.Supported(); err != nil {
		t.Skipf("netns lab unavailable: %v", err)
	}
	lab, err := netns.New("", opts...)
	if err != nil {
		t.Fatalf("netns lab: %v", err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("netns lab close: %v", err)
		}
	})
	return lab
}

// Scratch creates an empty namespace with loopback up (netns.NewScratch)
// and returns its path, /run/netns/NAME. It is deleted when the test ends,
// also on failure. The test is skipped when not run as root or without
// iproute2.
func Scratch(t testing.TB, role string) string {
	t.Helper()
	if err := netns.Supported(); err != nil {
		t.Skipf("network namespace unavailable: %v", err)
	}
	s, err := netns.NewScratch(role)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("netns: %v", err)
		}
	})
	return s.Path()
}
