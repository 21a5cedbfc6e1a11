package nftables

import (
	"net/netip"

	"github.com/svcnat/svcnat/synth"
)

// mapKey identifies an element of a shared map.
type mapKey struct {
	set   string
	addr  netip.Addr
	proto synth.Protocol
	port  uint16
	slot  uint32
}

func keyOf(e mapElem) mapKey { return mapKey{e.set, e.addr, e.proto, e.port, e.slot} }

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
