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
	refs  hairpinRefs       // elements of the shared set: how many ports hold each
}

func newElemIndex(m *model) *elemIndex {
	x := &elemIndex{owner: map[mapKey]string{}}
	for _, f := range m.frags.all() {
		x.add(f)
	}
	return x
}

func (x *elemIndex) add(f *fragment) {
	for _, a := range f.hairpinAddrs() {
		x.refs.add(a, 1)
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
		x.refs.add(a, -1)
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
			x.refs.add(a, 1)
		}
		x.removeOwned(ch.prev)
		x.addOwned(ch.next)
	}
}

// hairpinRefs counts, per address of the hairpin set (the only shared
// set, see sharedSet), the service ports whose endpoints have it. There is
// one address per endpoint pod: 100k at 10k Services × 10 endpoints, where
// a map keyed by mapKey held ≈ 7 MB. Keyed by the address alone, an IPv4
// entry is 8 bytes instead of 32.
type hairpinRefs struct {
	v4 map[[4]byte]int32
	v6 map[[16]byte]int32
}

// get returns how many ports hold a. Like mapKey, it does not tell an
// IPv4 address from its IPv4-mapped IPv6 form.
func (r *hairpinRefs) get(a netip.Addr) int {
	if a = a.Unmap(); a.Is4() {
		return int(r.v4[a.As4()])
	}
	return int(r.v6[a.As16()])
}

// add changes a's count by delta and forgets a when no port holds it.
func (r *hairpinRefs) add(a netip.Addr, delta int) {
	if a = a.Unmap(); a.Is4() {
		r.v4 = addRef(r.v4, a.As4(), delta)
		return
	}
	r.v6 = addRef(r.v6, a.As16(), delta)
}

func addRef[K comparable](m map[K]int32, k K, delta int) map[K]int32 {
	n := m[k] + int32(delta)
	switch {
	case n > 0 && m == nil:
		m = map[K]int32{k: n}
	case n > 0:
		m[k] = n
	default:
		delete(m, k)
	}
	return m
}

// len is the number of addresses some port holds.
func (r *hairpinRefs) len() int { return len(r.v4) + len(r.v6) }
