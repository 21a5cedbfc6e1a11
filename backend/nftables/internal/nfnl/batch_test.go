package nfnl

import (
	"testing"

	"github.com/mdlayher/netlink"
)

// fill appends n messages of size bytes each to b.
func fill(t *testing.T, b *Batch, n, size int) {
	t.Helper()
	data := make([]byte, size)
	for range n {
		b.Append(netlink.HeaderType(0x0a00), netlink.Request, data)
	}
}

func TestBatchKeepsASmallBufferForTheNextTransaction(t *testing.T) {
	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	fill(t, b, 10, 100)
	before := cap(b.buf)
	b.Reset()
	if b.Len() != 0 {
		t.Fatalf("Len after Reset = %d, want 0", b.Len())
	}
	if cap(b.buf) != before {
		t.Fatalf("small buffer not kept: cap %d, was %d", cap(b.buf), before)
	}
}

// A first full sync fills megabytes that the small changes after it do not
// need: the buffer is released instead of being held between syncs.
func TestBatchReleasesABigBufferAfterTheTransaction(t *testing.T) {
	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	fill(t, b, 1000, 1000) // ≈ 1 MB
	if cap(b.buf) <= keepBuf {
		t.Fatalf("test batch too small: cap %d", cap(b.buf))
	}
	b.Reset()
	if cap(b.buf) > keepBuf {
		t.Fatalf("big buffer kept: cap %d > %d", cap(b.buf), keepBuf)
	}
	fill(t, b, 1, 100)
	if b.Len() != 1 {
		t.Fatalf("Len after reuse = %d, want 1", b.Len())
	}
}
