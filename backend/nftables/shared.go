package nftables

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// dnatRef names the shared DNAT chain for endpoint lists of length n, of
// the cluster (local=false) or the local endpoint maps.
//
// The chain looks the entry point and a random slot below n up in the
// endpoint maps, so every Service port whose list has n endpoints uses it.
// Sharing matters to the kernel: every rule that looks a map up is a
// binding of that map, and adding an element checks it against every
// binding, so one lookup rule per Service port made a full sync quadratic
// (65 s at 10k Services). With shared chains the bindings are a few per
// distinct list length.
type dnatRef struct {
	local bool
	n     uint32
}

func (r dnatRef) chainName() string {
	if r.local {
		return fmt.Sprintf("local-dnat-%d", r.n)
	}
	return fmt.Sprintf("dnat-%d", r.n)
}

func dnatRefCmp(x, y dnatRef) int {
	if x.local != y.local {
		return cmp.Compare(b2i(x.local), b2i(y.local))
	}
	return cmp.Compare(x.n, y.n)
}

// chain builds the shared chain: per protocol (nft needs one to name the
// port of a DNAT target), first the address-keyed map (ClusterIP, external
// and load-balancer IPs), then the NodePort-keyed one; a key that is not in
// a map does not match, so a packet falls through to the next rule.
func (r dnatRef) chain() *chain {
	addrMap, portMap := mapEndpoints, mapNPEndpoints
	if r.local {
		addrMap, portMap = mapLocalEps, mapLocalNPEps
	}
	c := &chain{name: r.chainName()}
	for _, p := range dnatProtocols {
		c.add("", l4protoStmt{proto: p}, mapDNATStmt{withAddr: true, mod: r.n, set: addrMap})
		c.add("", l4protoStmt{proto: p}, mapDNATStmt{mod: r.n, set: portMap})
	}
	return c
}

// dnatProtocols are the protocols a shared DNAT chain has rules for.
var dnatProtocols = []synth.Protocol{synth.TCP, synth.UDP, synth.SCTP}

// dnatChainRules is the number of rules of a shared DNAT chain.
var dnatChainRules = 2 * len(dnatProtocols)

// dnatRefs lists, sorted, the shared DNAT chains the fragments use. There
// are few distinct ones, so a linear search beats sorting one per port.
func dnatRefs(frags []*fragment) []dnatRef {
	var out []dnatRef
	for _, f := range frags {
		for _, r := range f.dnat {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.SortFunc(out, dnatRefCmp)
	return out
}

// dnatChains builds the shared DNAT chains of refs.
func dnatChains(refs []dnatRef) []*chain {
	out := make([]*chain, len(refs))
	for i, r := range refs {
		out[i] = r.chain()
	}
	return out
}

// dnatDelta adds the shared DNAT chains that appear or go away between two
// models to d (new chains are created before the rules that jump to them,
// gone ones deleted after, by delta.emit).
func (d *delta) dnatDelta(prev, next []dnatRef) {
	for _, r := range next {
		if _, ok := slices.BinarySearchFunc(prev, r, dnatRefCmp); !ok {
			d.newChains = append(d.newChains, r.chain())
		}
	}
	for _, r := range prev {
		if _, ok := slices.BinarySearchFunc(next, r, dnatRefCmp); !ok {
			d.goneChain = append(d.goneChain, r.chain())
		}
	}
}
