package nftables

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math/big"
	"net/netip"
	"slices"
	"strconv"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// key is the element's key as nft prints it; it also identifies the
// element when diffing.
func (e elem) key() string { return string(e.appendKey(nil)) }

// appendKey appends the key to b. Render writes a quarter of a million of
// them at 10k Services, so it builds them without fmt.
func (e elem) appendKey(b []byte) []byte {
	switch {
	case e.to.IsValid() && e.addr.IsValid():
		b = appendDot(e.addr.AppendTo(b), string(e.proto))
		return appendDotInt(appendDotInt(b, uint64(e.port)), uint64(e.slot))
	case e.to.IsValid():
		return appendDotInt(appendDotInt(append(b, e.proto...), uint64(e.port)), uint64(e.slot))
	case e.pair:
		b = e.addr.AppendTo(b)
		return e.addr.AppendTo(append(b, " . "...))
	case e.prefix.IsValid() && e.prefix.IsSingleIP():
		return e.prefix.Addr().AppendTo(b)
	case e.prefix.IsValid():
		return e.prefix.AppendTo(b)
	case e.addr.IsValid() && e.proto != "":
		return appendDotInt(appendDot(e.addr.AppendTo(b), string(e.proto)), uint64(e.port))
	case e.addr.IsValid():
		return e.addr.AppendTo(b)
	}
	return appendDotInt(append(b, e.proto...), uint64(e.port))
}

// appendDot appends " . " and s: nft's concatenation of key parts.
func appendDot(b []byte, s string) []byte { return append(append(b, " . "...), s...) }

func appendDotInt(b []byte, n uint64) []byte { return strconv.AppendUint(append(b, " . "...), n, 10) }

// text is the element as written inside `elements = { ... }`.
func (e elem) text() string { return string(e.appendText(nil)) }

// appendText appends text() to b.
func (e elem) appendText(b []byte) []byte {
	b = e.appendKey(b)
	if e.comment != "" {
		b = append(append(append(b, ` comment "`...), e.comment...), '"')
	}
	if e.verdict.kind != vNone {
		b = append(append(b, " : "...), e.verdict.String()...)
	}
	if e.to.IsValid() {
		b = e.to.Addr().AppendTo(append(b, " : "...))
		b = appendDotInt(b, uint64(e.to.Port()))
	}
	return b
}

// intervalSetElems encodes the prefixes of an interval set as boundary
// elements, the way nft sends them (an interval end at 0 before the first
// range of the set, when first, each range as start + end-exclusive).
// Every other set's elements are written by nlEmitter.elems.
func intervalSetElems(es []elem, first bool) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(es))
	for i, e := range es {
		out = append(out, intervalElems(e.prefix, first && i == 0)...)
	}
	return out
}

// appendElemKey appends e's key to k.
func appendElemKey(k []byte, e elem) []byte {
	if e.addr.IsValid() {
		k = appendAddr(k, e.addr)
	}
	if e.pair {
		return appendAddr(k, e.addr)
	}
	if e.proto == "" {
		return k
	}
	// Each part of a concatenation is padded to 4 bytes.
	k = append(k, e.proto.Number(), 0, 0, 0)
	k = append(binary.BigEndian.AppendUint16(k, e.port), 0, 0)
	if e.to.IsValid() {
		k = binary.NativeEndian.AppendUint32(k, e.slot) // numgen's result, a host-order register
	}
	return k
}

// appendEndpointValue appends an endpoint map's value: address . port,
// the port padded to 4 bytes.
func appendEndpointValue(v []byte, ap netip.AddrPort) []byte {
	v = appendAddr(v, ap.Addr().Unmap())
	return append(binary.BigEndian.AppendUint16(v, ap.Port()), 0, 0)
}

// appendAddr appends a's bytes (4 or 16) without allocating.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		a4 := a.As4()
		return append(b, a4[:]...)
	}
	a16 := a.As16()
	return append(b, a16[:]...)
}

func intervalElems(p netip.Prefix, first bool) []nftables.SetElement {
	start := p.Masked().Addr()
	var out []nftables.SetElement
	if first && !start.IsUnspecified() {
		out = append(out, nftables.SetElement{Key: make([]byte, start.BitLen()/8), IntervalEnd: true})
	}
	out = append(out, nftables.SetElement{Key: start.AsSlice()})
	if end, ok := afterPrefix(p); ok {
		out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return out
}

// afterPrefix is the first address after p; false when p reaches the end of the address space.
func afterPrefix(p netip.Prefix) (netip.Addr, bool) {
	a := p.Masked().Addr()
	n := new(big.Int).SetBytes(a.AsSlice())
	n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(a.BitLen()-p.Bits())))
	b := n.Bytes()
	if len(b) > a.BitLen()/8 {
		return netip.Addr{}, false
	}
	buf := make([]byte, a.BitLen()/8)
	copy(buf[len(buf)-len(b):], b)
	out, _ := netip.AddrFromSlice(buf)
	return out, true
}

// decodeKernelElemKey turns a kernel element back into the model's form,
// all but its comment (elemMatcher compares the user data as bytes: no
// string per element).
func decodeKernelElemKey(f synth.Family, kind setKind, ke nfnl.Elem) (elem, bool) {
	var e elem
	al := int(addrLen(f))
	k := ke.Key
	if kind == kindAddr || kind == kindAddrProtoPort || kind == kindAddrSlot || kind == kindAddrPair {
		if len(k) < al {
			return e, false
		}
		e.addr, _ = netip.AddrFromSlice(k[:al])
		k = k[al:]
	}
	if kind == kindAddrPair {
		if len(k) != al || !bytes.Equal(k, e.addr.AsSlice()) {
			return e, false
		}
		e.pair, k = true, nil
	}
	if kind != kindAddr && kind != kindAddrPair {
		if len(k) < 8 || k[1]|k[2]|k[3]|k[6]|k[7] != 0 {
			return e, false
		}
		p, ok := protocolOf(k[0])
		if !ok {
			return e, false
		}
		e.proto, e.port, k = p, uint16(k[4])<<8|uint16(k[5]), k[8:]
	}
	if kind == kindAddrSlot || kind == kindPortSlot {
		if len(k) != 4 {
			return e, false
		}
		e.slot, k = binary.NativeEndian.Uint32(k), nil
	}
	wantData := kind == kindAddrProtoPort || kind == kindProtoPort || kind == kindAddrSlot || kind == kindPortSlot
	if len(k) != 0 || ke.Flags != 0 || ke.HasData != wantData {
		return e, false
	}
	if ke.HasData && (kind == kindAddrSlot || kind == kindPortSlot) {
		to, ok := endpointOf(f, ke.Data)
		if !ok {
			return e, false
		}
		e.to = to
	} else if ke.HasData {
		v, ok := verdictOf(ke)
		if !ok {
			return e, false
		}
		e.verdict = v
	}
	return e, true
}

// endpointOf decodes an endpoint map's value (appendEndpointValue).
func endpointOf(f synth.Family, v []byte) (netip.AddrPort, bool) {
	al := int(addrLen(f))
	if len(v) != al+4 || v[al+2]|v[al+3] != 0 {
		return netip.AddrPort{}, false
	}
	a, _ := netip.AddrFromSlice(v[:al])
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(v[al:])), true
}

func elemUserdata(c string) []byte {
	if c == "" {
		return nil
	}
	return userdata.AppendString(nil, userdata.NFTNL_UDATA_SET_ELEM_COMMENT, c)
}

func protocolOf(n uint8) (synth.Protocol, bool) {
	for _, p := range []synth.Protocol{synth.TCP, synth.UDP, synth.SCTP} {
		if p.Number() == n {
			return p, true
		}
	}
	return "", false
}

// verdictOf decodes the verdicts svcnat uses.
func verdictOf(ke nfnl.Elem) (verdict, bool) {
	switch ke.Verdict {
	case unix.NFT_GOTO:
		return goTo(ke.Chain), ke.Chain != ""
	case unix.NFT_JUMP:
		return verdict{kind: vJump, chain: ke.Chain}, ke.Chain != ""
	case 0: // NF_DROP
		return verdict{kind: vDrop}, ke.Chain == ""
	case unix.NFT_RETURN:
		return verdict{kind: vReturn}, ke.Chain == ""
	}
	return verdict{}, false
}

// sameIntervals compares an interval set's boundary elements with the
// ones intervalSetElems sends for s.
func sameIntervals(f synth.Family, ks *nfnl.Set, s *set) bool {
	want := intervalSetElems(s.elems, true)
	if len(want) != len(ks.Elems) {
		return false
	}
	type bound struct {
		key string
		end bool
	}
	order := func(x, y bound) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(b2i(x.end), b2i(y.end))
	}
	var w, h []bound
	for _, e := range want {
		w = append(w, bound{string(e.Key), e.IntervalEnd})
	}
	for _, e := range ks.Elems {
		if e.Extra || e.HasData || len(e.UserData) != 0 || e.Flags&^unix.NFT_SET_ELEM_INTERVAL_END != 0 {
			return false
		}
		h = append(h, bound{string(e.Key), e.Flags&unix.NFT_SET_ELEM_INTERVAL_END != 0})
	}
	slices.SortFunc(w, order)
	slices.SortFunc(h, order)
	return slices.Equal(w, h)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
