package nftables

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/synth"
)

// stmt is one match or statement of a rule. Each knows its nft text and its
// netlink expressions, side by side, so the two cannot drift.
type stmt interface {
	text(f synth.Family) string
	exprs(f synth.Family) []expr.Any
}

// field names which address of the IP header a statement looks at.
type field int

const (
	saddr field = iota
	daddr
)

func (fd field) String() string {
	if fd == saddr {
		return "saddr"
	}
	return "daddr"
}

func ipKeyword(f synth.Family) string {
	if f == synth.IPv6 {
		return "ip6"
	}
	return "ip"
}

func addrLen(f synth.Family) uint32 {
	if f == synth.IPv6 {
		return 16
	}
	return 4
}

// loadAddr loads the source or destination address into reg.
func loadAddr(f synth.Family, fd field, reg uint32) expr.Any {
	off := uint32(12) // IPv4 saddr
	if f == synth.IPv6 {
		off = 8
	}
	if fd == daddr {
		off += addrLen(f)
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: addrLen(f)}
}

// loadDport loads the transport destination port (th dport) into reg.
func loadDport(reg uint32) expr.Any {
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2}
}

func loadL4proto(reg uint32) expr.Any { return &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg} }

func addrBytes(a netip.Addr) []byte { return a.AsSlice() }

func native32(v uint32) []byte { return binaryutil.NativeEndian.PutUint32(v) }

// vmapStmt looks a concatenated key up in a verdict map.
type vmapStmt struct {
	withAddr bool // key is daddr . l4proto . dport, else l4proto . dport
	set      string
}

func (s vmapStmt) text(f synth.Family) string {
	key := "meta l4proto . th dport"
	if s.withAddr {
		key = ipKeyword(f) + " daddr . " + key
	}
	return key + " vmap @" + s.set
}

func (s vmapStmt) exprs(f synth.Family) []expr.Any {
	var out []expr.Any
	if s.withAddr {
		out = append(out, loadAddr(f, daddr, 1))
	}
	proto, port, _ := keyRegs(f, s.withAddr)
	out = append(out, loadL4proto(proto), loadDport(port))
	return append(out, &expr.Lookup{SourceRegister: 1, DestRegister: 0, IsDestRegSet: true, SetName: s.set})
}

// inSetStmt matches an address against a named set.
type inSetStmt struct {
	fd     field
	set    string
	negate bool
}

func (s inSetStmt) text(f synth.Family) string {
	op := ""
	if s.negate {
		op = "!= "
	}
	return fmt.Sprintf("%s %s %s@%s", ipKeyword(f), s.fd, op, s.set)
}

func (s inSetStmt) exprs(f synth.Family) []expr.Any {
	return []expr.Any{loadAddr(f, s.fd, 1), &expr.Lookup{SourceRegister: 1, SetName: s.set, Invert: s.negate}}
}

// prefixStmt matches an address against one prefix (or one address).
type prefixStmt struct {
	fd     field
	prefix netip.Prefix
}

func (s prefixStmt) text(f synth.Family) string {
	if s.prefix.IsSingleIP() {
		return fmt.Sprintf("%s %s %s", ipKeyword(f), s.fd, s.prefix.Addr())
	}
	return fmt.Sprintf("%s %s %s", ipKeyword(f), s.fd, s.prefix)
}

func (s prefixStmt) exprs(f synth.Family) []expr.Any {
	out := []expr.Any{loadAddr(f, s.fd, 1)}
	if !s.prefix.IsSingleIP() {
		n := addrLen(f)
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n,
			Mask: prefixMask(s.prefix), Xor: make([]byte, n)})
	}
	return append(out, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addrBytes(s.prefix.Masked().Addr())})
}

func prefixMask(p netip.Prefix) []byte {
	mask := make([]byte, p.Addr().BitLen()/8)
	for i := 0; i < p.Bits(); i++ {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return mask
}

// fibLocalStmt matches when the source or destination address is local.
type fibLocalStmt struct{ fd field }

func (s fibLocalStmt) text(synth.Family) string { return "fib " + s.fd.String() + " type local" }

func (s fibLocalStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, ResultADDRTYPE: true, FlagSADDR: s.fd == saddr, FlagDADDR: s.fd == daddr},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(unix.RTN_LOCAL)},
	}
}

// l4protoStmt matches the transport protocol.
type l4protoStmt struct{ proto synth.Protocol }

func (s l4protoStmt) text(synth.Family) string { return "meta l4proto " + string(s.proto) }

func (s l4protoStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{loadL4proto(1), &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{s.proto.Number()}}}
}

// numgenStmt matches with probability 1/mod.
type numgenStmt struct{ mod uint32 }

func (s numgenStmt) text(synth.Family) string { return fmt.Sprintf("numgen random mod %d 0", s.mod) }

func (s numgenStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Numgen{Register: 1, Modulus: s.mod, Type: unix.NFT_NG_RANDOM},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(0)},
	}
}

// markMasqStmt sets MasqMark.
type markMasqStmt struct{}

func (markMasqStmt) text(synth.Family) string {
	return fmt.Sprintf("meta mark set meta mark | 0x%08x", MasqMark)
}

func (markMasqStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(^MasqMark), Xor: native32(MasqMark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// clearMasqStmt clears MasqMark, so the mark does not leak to later hooks.
type clearMasqStmt struct{}

func (clearMasqStmt) text(synth.Family) string {
	return fmt.Sprintf("meta mark set meta mark ^ 0x%08x", MasqMark)
}

func (clearMasqStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(0xffffffff), Xor: native32(MasqMark)},
		&expr.Meta{Key: expr.MetaKeyMARK, SourceRegister: true, Register: 1},
	}
}

// noMasqMarkStmt matches packets without MasqMark.
type noMasqMarkStmt struct{}

func (noMasqMarkStmt) text(synth.Family) string {
	return fmt.Sprintf("meta mark & 0x%08x == 0x00000000", MasqMark)
}

func (noMasqMarkStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(MasqMark), Xor: native32(0)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: native32(0)},
	}
}

// masqStmt masquerades with fully random source ports (avoids SNAT port
// collisions between nodes, as kube-proxy does).
type masqStmt struct{}

func (masqStmt) text(synth.Family) string      { return "masquerade fully-random" }
func (masqStmt) exprs(synth.Family) []expr.Any { return []expr.Any{&expr.Masq{FullyRandom: true}} }

// dnatStmt rewrites the destination to one endpoint.
type dnatStmt struct{ to netip.AddrPort }

func (s dnatStmt) text(synth.Family) string { return "dnat to " + s.to.String() }

func (s dnatStmt) exprs(f synth.Family) []expr.Any {
	fam := uint32(unix.NFPROTO_IPV4)
	if f == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	port := make([]byte, 2)
	binary.BigEndian.PutUint16(port, s.to.Port())
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: addrBytes(s.to.Addr())},
		&expr.Immediate{Register: 2, Data: port},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}

// updateStmt remembers the source address in an affinity set.
type updateStmt struct{ set string }

func (s updateStmt) text(f synth.Family) string {
	return fmt.Sprintf("update @%s { %s saddr }", s.set, ipKeyword(f))
}

func (s updateStmt) exprs(f synth.Family) []expr.Any {
	return []expr.Any{loadAddr(f, saddr, 1), &expr.Dynset{SrcRegKey: 1, SetName: s.set, Operation: uint32(unix.NFT_DYNSET_OP_UPDATE)}}
}

// rejectStmt rejects with ICMP(v6) port unreachable.
type rejectStmt struct{}

func (rejectStmt) text(synth.Family) string { return "reject" }

func (rejectStmt) exprs(f synth.Family) []expr.Any {
	code := uint8(3) // ICMP_PORT_UNREACH
	if f == synth.IPv6 {
		code = 4 // ICMPV6_PORT_UNREACH
	}
	return []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: code}}
}

// verdictStmt ends a rule with a verdict.
type verdictStmt struct{ v verdict }

func (s verdictStmt) text(synth.Family) string { return s.v.String() }

func (s verdictStmt) exprs(synth.Family) []expr.Any { return []expr.Any{s.v.expr()} }

func (v verdict) String() string {
	switch v.kind {
	case vGoto:
		return "goto " + v.chain
	case vJump:
		return "jump " + v.chain
	case vDrop:
		return "drop"
	case vReturn:
		return "return"
	}
	return ""
}

func (v verdict) expr() *expr.Verdict {
	switch v.kind {
	case vGoto:
		return &expr.Verdict{Kind: expr.VerdictGoto, Chain: v.chain}
	case vJump:
		return &expr.Verdict{Kind: expr.VerdictJump, Chain: v.chain}
	case vDrop:
		return &expr.Verdict{Kind: expr.VerdictDrop}
	}
	return &expr.Verdict{Kind: expr.VerdictReturn}
}

// regAfterAddr is the first 32-bit register after an address loaded into
// reg 1 (which NFT_REG32_00 overlays).
func regAfterAddr(f synth.Family) uint32 { return unix.NFT_REG32_00 + addrLen(f)/4 }

// keyRegs returns the 32-bit registers of a concatenated entry key: the
// address (if any) fills reg 1, the protocol, port and slot take the
// following 4-byte slots. The protocol goes to reg 1 when there is no
// address, as nft does.
func keyRegs(f synth.Family, withAddr bool) (proto, port, slot uint32) {
	next := uint32(unix.NFT_REG32_00)
	if withAddr {
		next = regAfterAddr(f)
	}
	proto = next
	if proto == unix.NFT_REG32_00 {
		proto = unix.NFT_REG_1
	}
	return proto, next + 1, next + 2
}

// mapDNATStmt picks one endpoint of a list at random and rewrites the
// destination to it: the key is the entry point (destination address,
// protocol and port, or protocol and NodePort) and a random slot number
// below the list's length; the endpoint map holds one element per slot.
// Replacing an endpoint therefore changes one map element, not a rule.
type mapDNATStmt struct {
	withAddr bool // key starts with the destination address (ClusterIP, external and load-balancer IPs)
	mod      uint32
	set      string
}

func (s mapDNATStmt) text(f synth.Family) string {
	key := "meta l4proto . th dport"
	if s.withAddr {
		key = ipKeyword(f) + " daddr . " + key
	}
	return fmt.Sprintf("dnat %s to %s . numgen random mod %d map @%s", ipKeyword(f), key, s.mod, s.set)
}

func (s mapDNATStmt) exprs(f synth.Family) []expr.Any {
	var out []expr.Any
	if s.withAddr {
		out = append(out, loadAddr(f, daddr, 1))
	}
	proto, port, slot := keyRegs(f, s.withAddr)
	fam, portReg := uint32(unix.NFPROTO_IPV4), regAfterAddr(f) // the value is address . port
	if f == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	return append(out, loadL4proto(proto), loadDport(port),
		&expr.Numgen{Register: slot, Modulus: s.mod, Type: unix.NFT_NG_RANDOM},
		&expr.Lookup{SourceRegister: 1, DestRegister: 1, IsDestRegSet: true, SetName: s.set},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam, RegAddrMin: 1, RegProtoMin: portReg, Specified: true})
}

// ctDNATStmt matches connections whose destination was rewritten.
type ctDNATStmt struct{}

func (ctDNATStmt) text(synth.Family) string { return "ct status dnat" }

func (ctDNATStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(0x20), Xor: native32(0)}, // IPS_DST_NAT
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: native32(0)},
	}
}

// ctNewStmt matches the first packet of a connection. The filter hooks
// check only those: a later packet belongs to a connection the checks let
// through, and evaluating them again cost every forwarded packet four set
// lookups (about 5% of a short connection's CPU, docs/BENCHMARKS.md, "Data
// plane"). kube-proxy's nftables mode guards its filter chains the same way.
type ctNewStmt struct{}

func (ctNewStmt) text(synth.Family) string { return "ct state new" }

func (ctNewStmt) exprs(synth.Family) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: native32(0x08), Xor: native32(0)}, // NF_CT_STATE_BIT(IP_CT_NEW)
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: native32(0)},
	}
}

// pairStmt matches source . destination address against a set of pairs.
type pairStmt struct{ set string }

func (s pairStmt) text(f synth.Family) string {
	ip := ipKeyword(f)
	return fmt.Sprintf("%s saddr . %s daddr @%s", ip, ip, s.set)
}

func (s pairStmt) exprs(f synth.Family) []expr.Any {
	return []expr.Any{loadAddr(f, saddr, 1), loadAddr(f, daddr, regAfterAddr(f)), &expr.Lookup{SourceRegister: 1, SetName: s.set}}
}

// iifnameStmt matches the name of the input interface: one name, or every
// name starting with a prefix ("veth*"). Like nft, an exact name is
// compared as the whole IFNAMSIZ buffer (NUL-padded) and a prefix as its
// bytes alone.
type iifnameStmt struct {
	match  synth.InterfaceMatch
	negate bool
}

func (s iifnameStmt) text(synth.Family) string {
	op := ""
	if s.negate {
		op = "!= "
	}
	return fmt.Sprintf("iifname %s%q", op, s.match.String())
}

func (s iifnameStmt) exprs(synth.Family) []expr.Any {
	data := []byte(s.match.Name)
	if !s.match.Prefix {
		data = make([]byte, unix.IFNAMSIZ)
		copy(data, s.match.Name)
	}
	op := expr.CmpOpEq
	if s.negate {
		op = expr.CmpOpNeq
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: data},
	}
}
