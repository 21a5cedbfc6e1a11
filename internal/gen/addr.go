package gen

import (
	"encoding/binary"
	"net/netip"
)

// capacity is how many addresses nthAddr can give out of p: all but the
// network address and, for IPv4, the broadcast address.
func capacity(p netip.Prefix) uint64 {
	host := p.Addr().BitLen() - p.Bits()
	if host >= 63 {
		return 1 << 62 // more than any cluster needs
	}
	n := uint64(1) << host
	if p.Addr().Is4() {
		return max(n, 2) - 2
	}
	return n - 1
}

// nthAddr returns the n-th address of p counting from 1 (the address
// after the network address). n must be at most capacity(p).
func nthAddr(p netip.Prefix, n uint64) netip.Addr {
	a := p.Masked().Addr().As16()
	lo := binary.BigEndian.Uint64(a[8:])
	hi := binary.BigEndian.Uint64(a[:8])
	sum := lo + n
	if sum < lo {
		hi++
	}
	binary.BigEndian.PutUint64(a[8:], sum)
	binary.BigEndian.PutUint64(a[:8], hi)
	addr := netip.AddrFrom16(a)
	if p.Addr().Is4() {
		return addr.Unmap()
	}
	return addr
}
