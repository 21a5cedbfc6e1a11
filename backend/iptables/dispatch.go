package iptables

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"

	"github.com/svcnat/svcnat/synth"
)

// finishDispatch lays the recorded dispatch rules out as tries under
// SVCNAT-SERVICES and SVCNAT-NODEPORTS.
func (r *renderer) finishDispatch() {
	r.addCatchAlls()
	addrs := slices.SortedFunc(maps.Keys(r.dispatch), netip.Addr.Compare)
	keys := make([]bitKey, len(addrs))
	for i, a := range addrs {
		keys[i] = addrKey(a)
	}
	if root := buildTrie(keys, r.info.hostBits); root != nil {
		r.renderAddrNode(chainServices, root, addrs)
	}
	// An address inside the service range that no Service holds: drop.
	for _, p := range r.rs.ServiceCIDRs {
		r.nat.add(chainServices, "-d", p.Masked().String(), comment("unallocated service IP"), "-j", chainMarkDrop)
	}
	for _, proto := range slices.Sorted(maps.Keys(r.nodePorts)) {
		r.renderPortTree(proto)
	}
}

// addCatchAlls appends, after every Service's own rules for an address,
// the NodePort jump (node addresses) and the reject for a ClusterIP port
// no Service serves.
func (r *renderer) addCatchAlls() {
	if len(r.nodePorts) > 0 {
		for _, a := range r.rs.NodePortAddrs {
			a = a.Unmap()
			r.dispatch[a] = append(r.dispatch[a], "-d "+r.host(a)+" -j "+chainNodePorts)
		}
	}
	for _, a := range r.rs.ClusterIPs {
		a = a.Unmap()
		r.dispatch[a] = append(r.dispatch[a], "-d "+r.host(a)+" "+comment("cluster IP without that port")+" -j "+chainMarkRej)
	}
}

func addrKey(a netip.Addr) bitKey {
	var k bitKey
	if a.Is4() {
		b := a.As4()
		copy(k[:], b[:])
	} else {
		k = a.As16()
	}
	return k
}

// renderAddrNode writes node n of the address trie into chain.
func (r *renderer) renderAddrNode(chain string, n *trieNode, addrs []netip.Addr) {
	r.nat.declare(chain)
	if n.children == nil {
		for _, a := range addrs[n.lo:n.hi] {
			for _, rule := range r.dispatch[a] {
				r.nat.add(chain, rule)
			}
		}
		return
	}
	for _, c := range n.children {
		prefix, err := addrs[c.lo].Prefix(c.plen)
		if err != nil {
			panic(fmt.Sprintf("prefix of %s/%d: %v", addrs[c.lo], c.plen, err)) // plen ≤ address width by construction
		}
		child := treeChain("D", prefix.String())
		r.nat.add(chain, "-d", prefix.String(), "-j", child)
		r.renderAddrNode(child, c, addrs)
	}
}

// renderPortTree writes the NodePort trie of one protocol. A small set
// stays inline in SVCNAT-NODEPORTS; a larger one gets its own root chain.
func (r *renderer) renderPortTree(proto synth.Protocol) {
	byPort := r.nodePorts[proto]
	ports := slices.Sorted(maps.Keys(byPort))
	keys := make([]bitKey, len(ports))
	for i, p := range ports {
		keys[i] = bitKey{byte(p >> 8), byte(p)}
	}
	root := buildTrie(keys, 16)
	if root.children == nil {
		r.renderPortNode(chainNodePorts, proto, root, ports)
		return
	}
	rootChain := treeChain("P", string(proto))
	r.nat.add(chainNodePorts, "-p", string(proto), "-j", rootChain)
	r.renderPortNode(rootChain, proto, root, ports)
}

func (r *renderer) renderPortNode(chain string, proto synth.Protocol, n *trieNode, ports []uint16) {
	r.nat.declare(chain)
	if n.children == nil {
		for _, p := range ports[n.lo:n.hi] {
			for _, rule := range r.nodePorts[proto][p] {
				r.nat.add(chain, rule)
			}
		}
		return
	}
	for _, c := range n.children {
		span := uint16(1)<<(16-c.plen) - 1
		lo := ports[c.lo] &^ span
		rng := strconv.Itoa(int(lo))
		if span != 0 {
			rng += ":" + strconv.Itoa(int(lo|span))
		}
		child := treeChain("P", string(proto)+"|"+rng)
		r.nat.add(chain, portMatch(proto, rng, ""), "-j", child)
		r.renderPortNode(child, proto, c, ports)
	}
}
