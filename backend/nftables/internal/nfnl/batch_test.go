package nfnl

import (
	"encoding/binary"
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
// need: only the last chunk is kept for the next transaction.
func TestBatchReleasesABigBufferAfterTheTransaction(t *testing.T) {
	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	fill(t, b, 1000, 1000) // ≈ 1 MB
	if len(b.full) == 0 {
		t.Fatalf("test batch too small: one chunk of %d bytes", len(b.buf))
	}
	b.Reset()
	if len(b.full) != 0 || cap(b.buf) > chunkLen+chunkSlack {
		t.Fatalf("big batch kept: %d chunks, cap %d", len(b.full), cap(b.buf))
	}
	fill(t, b, 1, 100)
	if b.Len() != 1 {
		t.Fatalf("Len after reuse = %d, want 1", b.Len())
	}
}

// TestBatchInChunks fills several chunks: no message spans two, no chunk
// is reallocated (its old and new arrays would be alive together), the
// messages are numbered in order across chunks, and a refused message is
// found by its number.
func TestBatchInChunks(t *testing.T) {
	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	const n, size = 3000, 500
	data := make([]byte, size)
	for i := range n {
		data[0] = byte(i)
		b.Append(netlink.HeaderType(0x0a00), netlink.Request, data)
	}
	if len(b.full) < 4 {
		t.Fatalf("%d filled chunks, want several", len(b.full))
	}
	for i, c := range b.full[1:] { // the first grew from nothing
		if len(c) > chunkLen+chunkSlack || cap(c) != chunkLen+chunkSlack {
			t.Errorf("chunk %d: len %d cap %d", i+1, len(c), cap(c))
		}
	}
	last := b.seal(100)
	var joined []byte
	for _, c := range b.chunks() {
		joined = append(joined, c...)
	}
	msgs := splitMessages(t, joined)
	if len(msgs) != n+2 || last != 100+n {
		t.Fatalf("%d messages (markers included), last acknowledged %d; want %d and %d", len(msgs), last, n+2, 100+n)
	}
	for i, m := range msgs {
		if m.seq != uint32(100+i) {
			t.Fatalf("message %d has sequence %d", i, m.seq)
		}
		if i > 0 && i <= n && m.data[0] != byte(i-1) {
			t.Fatalf("message %d holds the data of %d", i, m.data[0])
		}
	}
	if msg, ok := b.nth(n); !ok || binary.NativeEndian.Uint32(msg[8:]) != uint32(100+n) {
		t.Errorf("nth(%d) = %v, %v", n, ok, msg)
	}
	if _, ok := b.nth(n + 2); ok {
		t.Error("nth past the end marker found a message")
	}
}
