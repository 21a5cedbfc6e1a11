package nfnl

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// queueObjects hands the same objects to a google/nftables connection:
// every kind of message the backend sends.
func queueObjects(t *testing.T, c *nftables.Conn) {
	t.Helper()
	tbl := &nftables.Table{Name: "contract", Family: nftables.TableFamilyIPv4}
	c.AddTable(tbl)
	prio, policy := nftables.ChainPriorityNATDest, nftables.ChainPolicyAccept
	base := c.AddChain(&nftables.Chain{Name: "prerouting", Table: tbl, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: prio, Policy: &policy})
	svc := c.AddChain(&nftables.Chain{Name: "svc", Table: tbl})
	vmap := &nftables.Set{Table: tbl, Name: "services", ID: 7, IsMap: true, Concatenation: true,
		KeyType:  nftables.MustConcatSetType(nftables.TypeIPAddr, nftables.TypeInetProto, nftables.TypeInetService),
		DataType: nftables.TypeVerdict}
	key := append(net.IPv4(10, 96, 0, 1).To4(), unix.IPPROTO_TCP, 0, 0, 0, 0, 80, 0, 0)
	elems := []nftables.SetElement{{Key: key, Comment: "default/web:http/tcp",
		VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: svc.Name}}}
	if err := c.AddSet(vmap, elems); err != nil {
		t.Fatal(err)
	}
	c.AddRule(&nftables.Rule{Table: tbl, Chain: base, Exprs: []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: vmap.Name, SetID: vmap.ID, IsDestRegSet: true, DestRegister: 0},
	}, UserData: []byte("comment")})
	if err := c.SetDeleteElements(vmap, elems); err != nil {
		t.Fatal(err)
	}
	c.FlushSet(vmap)
	c.FlushChain(svc)
	c.DelChain(svc)
	c.DelSet(vmap)
	c.DelTable(tbl)
}

type message struct {
	typ   netlink.HeaderType
	flags netlink.HeaderFlags
	seq   uint32
	data  []byte
}

// TestBatchIsGoogleNftablesEncoding checks the seam documented in doc.go:
// the bytes a sealed Batch sends are google/nftables' own batch for the
// same objects, with only the ack and echo requests changed (one ack, on
// the last message) and the messages numbered in order.
func TestBatchIsGoogleNftablesEncoding(t *testing.T) {
	var theirs []netlink.Message
	lib, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) < 2 {
			return ack, nil
		}
		theirs = append(theirs, req...)
		return nil, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	queueObjects(t, lib)
	if err := lib.Flush(); err != nil {
		t.Fatal(err)
	}

	b, err := NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	queueObjects(t, b.Objects())
	b.Queued(13)
	if b.Len() != len(theirs)-2 {
		t.Fatalf("batch holds %d messages, google/nftables sent %d besides its markers", b.Len(), len(theirs)-2)
	}
	const first = 41
	if last := b.seal(first); last != first+uint32(len(theirs))-2 {
		t.Errorf("acknowledged sequence %d, want the last message's, %d", last, first+len(theirs)-2)
	}
	ours := splitMessages(t, b.buf)
	if len(ours) != len(theirs) {
		t.Fatalf("sent %d messages, google/nftables %d", len(ours), len(theirs))
	}
	for i, m := range ours {
		want := theirs[i]
		wantFlags := want.Header.Flags &^ (netlink.Acknowledge | unix.NLM_F_ECHO)
		if i == len(ours)-2 {
			wantFlags |= netlink.Acknowledge
		}
		if m.typ != want.Header.Type || m.flags != wantFlags || !bytes.Equal(m.data, want.Data) {
			t.Errorf("message %d: type %#x flags %#x data %x,\n google/nftables: type %#x flags %#x (ours want %#x) data %x",
				i, uint16(m.typ), uint16(m.flags), m.data, uint16(want.Header.Type), uint16(want.Header.Flags), uint16(wantFlags), want.Data)
		}
		if m.seq != first+uint32(i) {
			t.Errorf("message %d has sequence %d, want %d", i, m.seq, first+i)
		}
	}
	var counted int
	b.Messages(func([]byte) { counted++ })
	if counted != len(theirs)-2 {
		t.Errorf("Messages yields %d, want %d", counted, len(theirs)-2)
	}
}

// splitMessages parses a sealed batch, checking each header's length and
// port id.
func splitMessages(t *testing.T, buf []byte) []message {
	t.Helper()
	var out []message
	for len(buf) > 0 {
		if len(buf) < unix.NLMSG_HDRLEN {
			t.Fatalf("%d bytes left after message %d", len(buf), len(out))
		}
		n := int(binary.NativeEndian.Uint32(buf))
		if n < unix.NLMSG_HDRLEN || n > len(buf) {
			t.Fatalf("message %d: length %d of %d bytes", len(out), n, len(buf))
		}
		if pid := binary.NativeEndian.Uint32(buf[12:]); pid != 0 {
			t.Errorf("message %d addressed to port %d, not the kernel", len(out), pid)
		}
		out = append(out, message{
			typ:   netlink.HeaderType(binary.NativeEndian.Uint16(buf[4:])),
			flags: netlink.HeaderFlags(binary.NativeEndian.Uint16(buf[6:])),
			seq:   binary.NativeEndian.Uint32(buf[8:]),
			data:  buf[unix.NLMSG_HDRLEN:n],
		})
		buf = buf[min(Align(n), len(buf)):]
	}
	return out
}
