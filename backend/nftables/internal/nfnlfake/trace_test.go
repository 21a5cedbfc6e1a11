package nfnlfake

import (
	"net/netip"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

func TestIntervalMatch(t *testing.T) {
	end := uint32(intervalEnd)
	s := &set{decl: nfnl.Set{Flags: unix.NFT_SET_INTERVAL, KeyLen: 1}, elems: []nfnl.Elem{
		{Key: []byte{0}, Flags: end}, {Key: []byte{10}}, {Key: []byte{20}, Flags: end}, {Key: []byte{20}}, {Key: []byte{30}, Flags: end},
	}}
	for key, want := range map[byte]bool{0: false, 9: false, 10: true, 19: true, 20: true, 29: true, 30: false, 255: false} {
		if _, got := s.match([]byte{key}); got != want {
			t.Errorf("match(%d) = %v, want %v", key, got, want)
		}
	}
}

// TestTraceNumgenDNAT: a random choice among three endpoints reports all
// three, each DNATed and masqueraded in postrouting.
func TestTraceNumgenDNAT(t *testing.T) {
	k := base(t)
	eps := &nftables.Set{Name: "eps", Table: tbl, KeyType: nftables.TypeInteger, IsMap: true, DataType: nftables.TypeIPAddr}
	mustSend(t, k, func(c *nftables.Conn) {
		var elems []nftables.SetElement
		for i := range 3 {
			elems = append(elems, nftables.SetElement{Key: native32(uint32(i)), Val: []byte{10, 244, 0, byte(i + 1)}})
		}
		if err := c.AddSet(eps, elems); err != nil {
			t.Fatal(err)
		}
		c.FlushChain(svc)
		c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: addrs.Name},
			&expr.Numgen{Register: 1, Modulus: 3, Type: unix.NFT_NG_RANDOM},
			&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: eps.Name},
			&expr.Immediate{Register: 2, Data: []byte{0x1f, 0x90}},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		}})
		c.AddRule(&nftables.Rule{Table: tbl, Chain: post, Exprs: []expr.Any{&expr.Masq{}}})
	})
	notLocal := func(netip.Addr) bool { return false }
	p := Packet{Src: netip.MustParseAddr("192.168.1.10"), Proto: unix.IPPROTO_TCP, Dst: netip.MustParseAddrPort("10.0.0.1:80")}
	outs, err := k.Trace(p, notLocal)
	if err != nil {
		t.Fatal(err)
	}
	tr := Summarize(p.Src, outs)
	if len(tr.Endpoints) != 3 || tr.Endpoints[2] != netip.MustParseAddrPort("10.244.0.3:8080") || !tr.Masquerade {
		t.Errorf("trace %+v from %+v", tr, outs)
	}
	p.Dst = netip.MustParseAddrPort("10.0.0.2:80") // not in addrs
	if outs, err = k.Trace(p, notLocal); err != nil || Summarize(p.Src, outs).Verdict != "ACCEPT" {
		t.Errorf("10.0.0.2: %+v, %v", outs, err)
	}
}

// TestTraceDrawsAgainAfterAMiss: a draw that lands on an empty slot misses
// the map, and the next rule draws again; the tracer follows each miss
// once, not once per value, so rules that draw again do not multiply the
// ways a packet can go.
func TestTraceDrawsAgainAfterAMiss(t *testing.T) {
	const filled, slots, draws = 3, 5, 8
	k := base(t)
	eps := &nftables.Set{Name: "eps", Table: tbl, KeyType: nftables.TypeInteger, IsMap: true, DataType: nftables.TypeIPAddr}
	mustSend(t, k, func(c *nftables.Conn) {
		var elems []nftables.SetElement
		for i := range filled {
			elems = append(elems, nftables.SetElement{Key: native32(uint32(i)), Val: []byte{10, 244, 0, byte(i + 1)}})
		}
		if err := c.AddSet(eps, elems); err != nil {
			t.Fatal(err)
		}
		c.FlushChain(svc)
		for range draws {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{
				&expr.Numgen{Register: 1, Modulus: slots, Type: unix.NFT_NG_RANDOM},
				&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: eps.Name},
				&expr.Immediate{Register: 2, Data: []byte{0x1f, 0x90}},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
			}})
		}
	})
	p := Packet{Src: netip.MustParseAddr("192.168.1.10"), Proto: unix.IPPROTO_TCP, Dst: netip.MustParseAddrPort("10.0.0.1:80")}
	outs, err := k.Trace(p, func(netip.Addr) bool { return false })
	if err != nil {
		t.Fatal(err)
	}
	// Each draw: one way per filled slot; the miss goes on to the next
	// draw; after the last one the packet leaves the chain unchanged.
	if want := draws*filled + 1; len(outs) != want {
		t.Errorf("%d ways, want %d: %+v", len(outs), want, outs)
	}
	if tr := Summarize(p.Src, outs); len(tr.Endpoints) != filled {
		t.Errorf("endpoints %v, want %d", tr.Endpoints, filled)
	}
}
