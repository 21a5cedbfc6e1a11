package nfnl

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// TestElemMsgIsGoogleNftablesEncoding: an ElemMsg is byte for byte the
// message google/nftables' SetAddElements and SetDeleteElements queue for
// the same elements: verdicts with and without a chain, value-map data,
// plain keys, comments short and long.
func TestElemMsgIsGoogleNftablesEncoding(t *testing.T) {
	elems := []nftables.SetElement{
		{Key: []byte{10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0}, Comment: "default/web:http/tcp",
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "svc-3"}},
		{Key: []byte{10, 96, 0, 2, 17, 0, 0, 0, 0, 53, 0, 0}, VerdictData: &expr.Verdict{Kind: expr.VerdictDrop}},
		{Key: []byte{10, 96, 0, 1, 6, 0, 0, 0, 0, 80, 0, 0, 1, 0, 0, 0}, Val: []byte{10, 244, 1, 2, 0x1f, 0x90, 0, 0}},
		{Key: []byte{10, 244, 1, 2, 10, 244, 1, 2}, Comment: strings.Repeat("n", 250)},
		{Key: []byte{10, 96, 0, 3}},
	}
	for _, del := range []bool{false, true} {
		theirs, err := NewBatch()
		if err != nil {
			t.Fatal(err)
		}
		set := &nftables.Set{Table: &nftables.Table{Name: "contract", Family: nftables.TableFamilyIPv4}, Name: "m", ID: 3}
		send := theirs.Objects().SetAddElements
		if del {
			send = theirs.Objects().SetDeleteElements
		}
		if err := send(set, elems); err != nil {
			t.Fatal(err)
		}
		ours, err := NewBatch()
		if err != nil {
			t.Fatal(err)
		}
		m := ours.BeginElems(del, IPv4, "contract", "m", 3)
		for _, e := range elems {
			m.Add(e.Key, e.Val, e.VerdictData, e.Comment)
		}
		m.End()
		if got, want := batchMessages(ours), batchMessages(theirs); !bytes.Equal(got, want) {
			t.Errorf("del=%v:\n ours %x\ntheirs %x", del, got, want)
		}
	}
}

// TestElemMsgTooLong: elements that overflow a netlink attribute are an
// error of the batch, not a corrupt message.
func TestElemMsgTooLong(t *testing.T) {
	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	m := b.BeginElems(false, IPv4, "t", "s", 0)
	for range 300 {
		m.Add([]byte{10, 0, 0, 1}, nil, nil, strings.Repeat("c", 250))
	}
	m.End()
	if b.Err() == nil {
		t.Fatal("no error for a 75 KiB element list")
	}
}

func batchMessages(b *Batch) []byte {
	var out []byte
	b.Messages(func(msg []byte) { out = append(out, msg...) })
	return out
}
