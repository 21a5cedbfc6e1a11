package nftables

import (
	"net/netip"

	"github.com/svcnat/svcnat/synth"
)

// mapKey identifies an element of a shared map. At 10k Services the index
// holds one per ClusterIP, NodePort and hairpin address (with the maps
// that use it, ≈ 16 MB of heap when the key held the set's name, a
// netip.Addr and the protocol's name): this form is 24 bytes and holds no
// pointer, so the collector does not scan the maps either. Each family
// has its own index, so an IPv4 address in its 16-byte form is no
// ambiguity.
type mapKey struct {
	addr  [16]byte
	slot  uint32
	port  uint16
	set   uint8 // setIndex
	proto uint8 // protoIndex
}

func keyOf(e mapElem) mapKey { return newMapKey(e.set, e.addr, e.proto, e.port, e.slot) }

func newMapKey(set string, addr netip.Addr, proto synth.Protocol, port uint16, slot uint32) mapKey {
	return mapKey{addr: addr.As16(), slot: slot, port: port, set: setIndex(set), proto: protoIndex(proto)}
}

// setIndex numbers the sets of sharedMaps (their position there).
func setIndex(name string) uint8 {
	switch name {
	case mapServiceIPs:
		return 0
	case mapNoEndpoints:
		return 1
	case mapFirewallIPs:
		return 2
	case mapNodePorts:
		return 3
	case mapNoEndpointNPs:
		return 4
	case mapEndpoints:
		return 5
	case mapNPEndpoints:
		return 6
	case mapLocalEps:
		return 7
	case mapLocalNPEps:
		return 8
	case setHairpin:
		return 9
	}
	panic("nftables: element of an unknown shared map " + name)
}

// protoIndex numbers the protocols synth knows; a key without one (the
// hairpin set's) is 0.
func protoIndex(p synth.Protocol) uint8 {
	switch p {
	case "":
		return 0
	case synth.TCP:
		return 1
	case synth.UDP:
		return 2
	case synth.SCTP:
		return 3
	}
	panic("nftables: element of an unknown protocol " + string(p))
}

// elemIndex records which service port owns each key of the shared maps,
// so the fast path can tell a new key from one another port already holds
// (the whole-table path then decides, first port wins). Keys of derived
// sets (the endpoint maps, most of the elements) are not recorded.
type elemIndex struct {
	owner map[mapKey]string // service port ID
	dups  bool              // some key has two owners: use the whole-table path
	refs  map[mapKey]int    // elements of shared sets: how many ports hold each
}

func newElemIndex(m *model) *elemIndex {
	x := &elemIndex{owner: map[mapKey]string{}, refs: map[mapKey]int{}}
	for _, f := range m.frags.all() {
		x.add(f)
	}
	return x
}

func (x *elemIndex) add(f *fragment) {
	for _, a := range f.hairpinAddrs() {
		x.refs[hairpinKey(a)]++
	}
	x.addOwned(f)
}

// addOwned records the keys f owns, noting a key another port holds.
func (x *elemIndex) addOwned(f *fragment) {
	for _, e := range f.elems { // derived elements have no owner of their own
		k := keyOf(e)
		if o, ok := x.owner[k]; ok && o != f.sp.ID {
			x.dups = true
			continue
		}
		x.owner[k] = f.sp.ID
	}
}

func (x *elemIndex) remove(f *fragment) {
	x.unref(f.hairpinAddrs())
	x.removeOwned(f)
}

func (x *elemIndex) unref(hairpin []netip.Addr) {
	for _, a := range hairpin {
		k := hairpinKey(a)
		if x.refs[k]--; x.refs[k] <= 0 {
			delete(x.refs, k)
		}
	}
}

func (x *elemIndex) removeOwned(f *fragment) {
	for _, e := range f.elems {
		k := keyOf(e)
		if x.owner[k] == f.sp.ID {
			delete(x.owner, k)
		}
	}
}

// change records that port ch.prev became ch.next (either may be nil).
// For a changed port only the hairpin keys that differ are visited, so
// that a one-endpoint change of a big Service stays cheap.
func (x *elemIndex) change(ch *fragChange) {
	switch {
	case ch.prev == nil:
		x.add(ch.next)
	case ch.next == nil:
		x.remove(ch.prev)
	default:
		h := ch.hairpinDelta()
		x.unref(h.del)
		for _, a := range h.add {
			x.refs[hairpinKey(a)]++
		}
		x.removeOwned(ch.prev)
		x.addOwned(ch.next)
	}
}
