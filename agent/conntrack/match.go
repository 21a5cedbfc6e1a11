package conntrack

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

// MatchConntrackFlow makes a Flow a netlink.CustomConntrackFilter.
func (f Flow) MatchConntrackFlow(ct *netlink.ConntrackFlow) bool {
	orig, reply := ct.Forward, ct.Reverse
	if f.Protocol != "" && orig.Protocol != f.Protocol.Number() {
		return false
	}
	origDst := addrOf(orig.DstIP)
	if f.OrigDst.IsValid() && origDst != f.OrigDst.Unmap() {
		return false
	}
	if f.OrigDstPort != 0 && orig.DstPort != f.OrigDstPort {
		return false
	}
	replySrc := addrOf(reply.SrcIP)
	if f.ReplySrc.IsValid() && (replySrc != f.ReplySrc.Addr().Unmap() || reply.SrcPort != f.ReplySrc.Port()) {
		return false
	}
	return !f.NotNATed || replySrc == origDst
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
