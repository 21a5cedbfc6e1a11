package conntrack

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/synth"
)

// Cleaner deletes conntrack entries in one network namespace.
type Cleaner struct {
	h *netlink.Handle
}

// NewCleaner opens a netlink handle in the network namespace at nsPath
// (e.g. /run/netns/NAME); empty means the caller's namespace.
func NewCleaner(nsPath string) (*Cleaner, error) {
	if nsPath == "" {
		h, err := netlink.NewHandle(unix.NETLINK_NETFILTER)
		if err != nil {
			return nil, fmt.Errorf("conntrack: open netlink handle: %w", err)
		}
		return &Cleaner{h: h}, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("conntrack: open network namespace %s: %w", nsPath, err)
	}
	// The handle keeps its own socket in ns; the fd is not needed after.
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("conntrack: open netlink handle in %s: %w", nsPath, err)
	}
	return &Cleaner{h: h}, nil
}

// Delete removes the entries matching any of flows and returns how many
// were deleted. Each IP family costs one dump of the conntrack table.
func (c *Cleaner) Delete(flows []Flow) (uint, error) {
	var total uint
	for _, fam := range []synth.Family{synth.IPv4, synth.IPv6} {
		var filters []netlink.CustomConntrackFilter
		for _, fl := range flows {
			if fl.Family == fam {
				filters = append(filters, fl)
			}
		}
		if len(filters) == 0 {
			continue
		}
		n, err := c.h.ConntrackDeleteFilters(netlink.ConntrackTable, inetFamily(fam), filters...)
		total += n
		if err != nil {
			return total, fmt.Errorf("conntrack: delete %s entries: %w", fam, err)
		}
	}
	return total, nil
}

// Close releases the netlink handle.
func (c *Cleaner) Close() { c.h.Close() }

func inetFamily(f synth.Family) netlink.InetFamily {
	if f == synth.IPv6 {
		return netlink.FAMILY_V6
	}
	return netlink.FAMILY_V4
}
