package nfnlfake

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// srcPort is the source port of every traced packet; svcnat's rules never
// look at it.
const srcPort = 40000

// rule evaluates one rule's expressions; a numgen forks the evaluation
// once per value it can take.
func (tr *tracer) rule(t *table, r *rule, s state) ([]branch, error) {
	var out []branch
	err := tr.exprs(t, r.exprs, s, &out)
	return out, err
}

func (tr *tracer) exprs(t *table, exprs []expr.Any, s state, out *[]branch) error {
	for i, e := range exprs {
		if ng, ok := e.(*expr.Numgen); ok {
			return tr.numgen(t, ng, exprs[i+1:], s, out)
		}
		b, done, err := tr.step(t, e, &s)
		if err != nil {
			return fmt.Errorf("%s: %w", exprText(e), err)
		}
		if done {
			*out = append(*out, b)
			return nil
		}
	}
	*out = append(*out, branch{s: s, v: vNext})
	return nil
}

// numgen evaluates the rest of the rule once per value: the tracer
// reports every endpoint a random choice can reach.
func (tr *tracer) numgen(t *table, ng *expr.Numgen, rest []expr.Any, s state, out *[]branch) error {
	if ng.Modulus == 0 || ng.Modulus > 1<<16 {
		return fmt.Errorf("numgen modulus %d", ng.Modulus)
	}
	for n := uint32(0); n < ng.Modulus; n++ {
		c := s
		c.path = append([]string(nil), s.path...)
		if err := c.store(ng.Register, native32(n+ng.Offset)); err != nil {
			return err
		}
		if err := tr.exprs(t, rest, c, out); err != nil {
			return err
		}
	}
	return nil
}

// step evaluates one expression. done reports that the rule ends here:
// with a verdict, or without a match (vNext).
func (tr *tracer) step(t *table, e expr.Any, s *state) (b branch, done bool, err error) {
	stop := func(v verdictKind) (branch, bool, error) { return branch{s: *s, v: v}, true, nil }
	switch x := e.(type) {
	case *expr.Payload:
		err = tr.payload(x, s)
	case *expr.Meta:
		err = tr.meta(x, s)
	case *expr.Cmp:
		var ok bool
		if ok, err = s.cmp(x); err == nil && !ok {
			return stop(vNext)
		}
	case *expr.Bitwise:
		err = s.bitwise(x)
	case *expr.Lookup:
		return tr.lookup(t, x, s)
	case *expr.Immediate:
		err = s.store(x.Register, x.Data)
	case *expr.Verdict:
		return tr.verdict(int32(x.Kind), x.Chain, s)
	case *expr.Fib:
		err = tr.fib(x, s)
	case *expr.Ct:
		err = s.ct(x)
	case *expr.NAT:
		if err = tr.dnat(x, s); err == nil {
			return stop(vAccept)
		}
	case *expr.Masq:
		s.masq = true
		return stop(vAccept)
	case *expr.Reject:
		return stop(vReject)
	case *expr.Dynset, *expr.Counter:
		// updating a set or counting changes nothing for this packet
	default:
		err = fmt.Errorf("the tracer does not evaluate %T", e)
	}
	return branch{}, false, err
}

// verdict turns a verdict code (an immediate or a verdict map's value)
// into where evaluation goes.
func (tr *tracer) verdict(code int32, chain string, s *state) (branch, bool, error) {
	b := branch{s: *s, chain: chain}
	switch code {
	case nfAccept:
		b.v = vAccept
	case nfDrop:
		b.v = vDrop
	case unix.NFT_JUMP:
		b.v = vJump
	case unix.NFT_GOTO:
		b.v = vGoto
	case unix.NFT_RETURN:
		b.v = vReturn
	case unix.NFT_BREAK:
		b.v = vNext
	case unix.NFT_CONTINUE:
		return branch{}, false, nil
	default:
		return branch{}, false, fmt.Errorf("verdict %d", code)
	}
	return b, true, nil
}

func (s *state) reg(r uint32, n int) ([]byte, error) {
	off, ok := regOffset(r)
	if !ok || off+n > len(s.regs) {
		return nil, fmt.Errorf("register %d (%d bytes) out of range", r, n)
	}
	return s.regs[off : off+n], nil
}

// store writes data to register r; like the kernel's loads, the last
// 32-bit word is zero-padded.
func (s *state) store(r uint32, data []byte) error {
	n := (len(data) + 3) &^ 3
	dst, err := s.reg(r, n)
	if err != nil {
		return err
	}
	clear(dst)
	copy(dst, data)
	return nil
}

func native32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// headers are the packet's network and transport headers as they are now
// (the destination may have been rewritten).
func (tr *tracer) headers(s *state) (network, transport []byte) {
	src, dst := tr.p.Src.Unmap(), s.dst.Addr()
	if tr.fam == nfnl.IPv6 {
		network = make([]byte, 40)
		network[6] = tr.p.Proto
		copy(network[8:], src.AsSlice())
		copy(network[24:], dst.AsSlice())
	} else {
		network = make([]byte, 20)
		network[0], network[9] = 0x45, tr.p.Proto
		copy(network[12:], src.AsSlice())
		copy(network[16:], dst.AsSlice())
	}
	transport = binary.BigEndian.AppendUint16(nil, srcPort)
	transport = binary.BigEndian.AppendUint16(transport, s.dst.Port())
	return network, append(transport, make([]byte, 16)...)
}

func (tr *tracer) payload(x *expr.Payload, s *state) error {
	if x.SourceRegister != 0 || x.OperationType != expr.PayloadLoad {
		return fmt.Errorf("payload writes are not traced")
	}
	network, transport := tr.headers(s)
	var hdr []byte
	switch x.Base {
	case expr.PayloadBaseNetworkHeader:
		hdr = network
	case expr.PayloadBaseTransportHeader:
		hdr = transport
	default:
		return fmt.Errorf("payload base %d is not traced", x.Base)
	}
	if int(x.Offset+x.Len) > len(hdr) {
		return fmt.Errorf("payload %d+%d beyond the header", x.Offset, x.Len)
	}
	return s.store(x.DestRegister, hdr[x.Offset:x.Offset+x.Len])
}

func (tr *tracer) meta(x *expr.Meta, s *state) error {
	if x.SourceRegister {
		if x.Key != expr.MetaKeyMARK {
			return fmt.Errorf("meta set %d is not traced", x.Key)
		}
		v, err := s.reg(x.Register, 4)
		if err != nil {
			return err
		}
		s.mark = binary.NativeEndian.Uint32(v)
		return nil
	}
	switch x.Key {
	case expr.MetaKeyL4PROTO:
		return s.store(x.Register, []byte{tr.p.Proto})
	case expr.MetaKeyMARK:
		return s.store(x.Register, native32(s.mark))
	case expr.MetaKeyNFPROTO:
		return s.store(x.Register, []byte{byte(tr.fam)})
	case expr.MetaKeyIIFNAME:
		// The kernel stores an empty name when there is no input device.
		name := make([]byte, unix.IFNAMSIZ)
		copy(name, tr.p.InIface)
		return s.store(x.Register, name)
	}
	return fmt.Errorf("meta key %d is not traced", x.Key)
}

func (s *state) cmp(x *expr.Cmp) (bool, error) {
	v, err := s.reg(x.Register, len(x.Data))
	if err != nil {
		return false, err
	}
	c := bytes.Compare(v, x.Data)
	switch x.Op {
	case expr.CmpOpEq:
		return c == 0, nil
	case expr.CmpOpNeq:
		return c != 0, nil
	case expr.CmpOpLt:
		return c < 0, nil
	case expr.CmpOpLte:
		return c <= 0, nil
	case expr.CmpOpGt:
		return c > 0, nil
	case expr.CmpOpGte:
		return c >= 0, nil
	}
	return false, fmt.Errorf("cmp op %d", x.Op)
}

func (s *state) bitwise(x *expr.Bitwise) error {
	n := int(x.Len)
	if len(x.Mask) != n || len(x.Xor) != n {
		return fmt.Errorf("bitwise of %d bytes with a mask of %d and xor of %d", n, len(x.Mask), len(x.Xor))
	}
	src, err := s.reg(x.SourceRegister, n)
	if err != nil {
		return err
	}
	out := make([]byte, n)
	for i := range out {
		out[i] = src[i]&x.Mask[i] ^ x.Xor[i]
	}
	return s.store(x.DestRegister, out)
}

// lookup looks the key in the source register up in a set; a map writes
// the element's data, a verdict map decides.
func (tr *tracer) lookup(t *table, x *expr.Lookup, s *state) (branch, bool, error) {
	set := t.set(x.SetName)
	if set == nil {
		return branch{}, false, fmt.Errorf("lookup in missing set %s", x.SetName)
	}
	key, err := s.reg(x.SourceRegister, int(set.decl.KeyLen))
	if err != nil {
		return branch{}, false, err
	}
	e, found := set.match(key)
	if found == x.Invert {
		return branch{s: *s, v: vNext}, true, nil
	}
	if !x.IsDestRegSet {
		return branch{}, false, nil
	}
	if x.DestRegister == unix.NFT_REG_VERDICT {
		return tr.verdict(e.Verdict, e.Chain, s)
	}
	return branch{}, false, s.store(x.DestRegister, e.Data)
}

// match finds the element a key matches: equal keys, or for an interval
// set the interval start at or before the key that no end closes first.
func (s *set) match(key []byte) (nfnl.Elem, bool) {
	if s.decl.Flags&unix.NFT_SET_INTERVAL == 0 {
		i, found := s.find(nfnl.Elem{Key: key})
		if !found {
			return nfnl.Elem{}, false
		}
		return s.elems[i], true
	}
	var best *nfnl.Elem
	for i := range s.elems {
		e := &s.elems[i]
		c := bytes.Compare(e.Key, key)
		if c > 0 {
			break // sorted: nothing further is at or before key
		}
		// The last boundary at or before key decides; where one interval
		// ends and the next starts at the same key, the start does.
		if best == nil || bytes.Compare(e.Key, best.Key) > 0 || e.Flags&intervalEnd == 0 {
			best = e
		}
	}
	if best == nil || best.Flags&intervalEnd != 0 {
		return nfnl.Elem{}, false
	}
	return *best, true
}

func (tr *tracer) fib(x *expr.Fib, s *state) error {
	if !x.ResultADDRTYPE || x.FlagSADDR == x.FlagDADDR || x.FlagIIF || x.FlagOIF || x.FlagMARK {
		return fmt.Errorf("only fib saddr/daddr type is traced")
	}
	a := s.dst.Addr()
	if x.FlagSADDR {
		a = tr.p.Src.Unmap()
	}
	typ := uint32(unix.RTN_UNICAST)
	if tr.local(a) {
		typ = unix.RTN_LOCAL
	}
	return s.store(x.Register, native32(typ))
}

// Netfilter verdicts (include/uapi/linux/netfilter.h).
const (
	nfDrop   = 0
	nfAccept = 1
)

// Connection tracking bits (include/uapi/linux/netfilter/nf_conntrack_common.h).
const (
	ipsDstNAT  = 1 << 5 // IPS_DST_NAT
	ctStateNew = 1 << 3 // NF_CT_STATE_BIT(IP_CT_NEW)
)

func (s *state) ct(x *expr.Ct) error {
	if x.SourceRegister {
		return fmt.Errorf("ct set is not traced")
	}
	switch x.Key {
	case expr.CtKeySTATUS:
		var st uint32
		if s.dnat {
			st |= ipsDstNAT
		}
		return s.store(x.Register, native32(st))
	case expr.CtKeySTATE:
		return s.store(x.Register, native32(ctStateNew))
	}
	return fmt.Errorf("ct key %d is not traced", x.Key)
}

// dnat rewrites the destination from the NAT expression's registers.
func (tr *tracer) dnat(x *expr.NAT, s *state) error {
	if x.Type != expr.NATTypeDestNAT {
		return fmt.Errorf("only dnat is traced")
	}
	n := 4
	if x.Family == unix.NFPROTO_IPV6 {
		n = 16
	}
	raw, err := s.reg(x.RegAddrMin, n)
	if err != nil {
		return err
	}
	addr, _ := netip.AddrFromSlice(raw)
	port := s.dst.Port()
	if x.RegProtoMin != 0 {
		p, err := s.reg(x.RegProtoMin, 2)
		if err != nil {
			return err
		}
		port = binary.BigEndian.Uint16(p)
	}
	s.dst, s.dnat = netip.AddrPortFrom(addr, port), true
	return nil
}
