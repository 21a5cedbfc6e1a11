package nftables

import (
	"context"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
	"github.com/svcnat/svcnat/synth"
)

// program applies rs through b: the one place these tests program a
// backend (changed nil: compare everything).
func program(t testing.TB, b *Backend, rs []*synth.Ruleset, changed *synth.Changes) backend.Stats {
	t.Helper()
	st, err := b.ApplyChanged(context.Background(), rs, changed)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return st
}

// newFakeBackend returns a Backend over a fresh in-memory kernel.
func newFakeBackend(t testing.TB) (*Backend, *nfnlfake.Kernel) {
	t.Helper()
	k := nfnlfake.New()
	b, err := NewWithKernel(k)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, k
}
