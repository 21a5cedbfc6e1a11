package nftables

import (
	"cmp"
	"slices"

	"github.com/svcnat/svcnat/synth"
)

// Slot stability. The endpoint maps key an entry point and a slot, and the
// shared DNAT chain picks slot numgen mod N, so slots must be exactly
// 0..N-1; which endpoint holds which slot is free. Numbering the sorted
// list afresh on every change would renumber every endpoint after a new
// or removed one: one pod replaced in a 40k-endpoint Service rewrote
// ~160k elements. Instead a rebuilt port keeps the slots of the endpoints
// it had (stableSlots): a new endpoint takes a freed slot or the next one,
// and when the list shrinks the endpoints of the highest slots move down
// into the freed ones. A change of k endpoints then changes O(k) slots.
// The order depends on history only through the previous fragment: a
// table built from scratch (render, a first sync) numbers in list order.

// endpointAt returns the endpoint in slot i of list l of port sp.
func (l epList) endpointAt(sp *synth.ServicePort, i int) synth.Endpoint {
	eps := l.endpoints(sp)
	if l.slots != nil {
		return eps[l.slots[i]]
	}
	return eps[i]
}

// inheritSlots gives every endpoint-map list of f the slots its
// endpoints had in old's list of the same kind (old may be nil).
func (f *fragment) inheritSlots(old *fragment) {
	if old == nil {
		return
	}
	for i := range f.lists {
		l := &f.lists[i]
		if !l.maps {
			continue
		}
		for _, o := range old.lists {
			if o.maps && o.local == l.local {
				l.slots = stableSlots(o.endpoints(&old.sp), o.slots, l.endpoints(&f.sp))
			}
		}
	}
}

func endpointCmp(a, b synth.Endpoint) int {
	return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
}

// stableSlots returns the slots of the endpoints next (index of the
// endpoint in each slot; nil: slot i is endpoint i) so that every endpoint
// also in prev keeps the slot it had there (prevSlots, nil: identity),
// except those moved down from the top when the list shrinks. Both lists
// are sorted by address and port (synth sorts them); when one is not, it
// returns nil and the port is renumbered in list order.
func stableSlots(prev []synth.Endpoint, prevSlots []int32, next []synth.Endpoint) []int32 {
	if !slices.IsSortedFunc(prev, endpointCmp) || !slices.IsSortedFunc(next, endpointCmp) {
		return nil
	}
	kept, added := matchEndpoints(prev, next)
	out := make([]int32, 0, max(len(prev), len(next)))
	for s := range prev { // slot s held prev endpoint p; -1: a hole to fill
		p := int32(s)
		if prevSlots != nil {
			p = prevSlots[s]
		}
		out = append(out, kept[p])
	}
	for s := range out {
		if out[s] < 0 && len(added) > 0 {
			out[s], added = added[0], added[1:]
		}
	}
	out = append(out, added...)
	out = fillHoles(out)
	if isIdentity(out) {
		return nil
	}
	return out
}

// matchEndpoints merges two sorted lists: kept[i] is the index in next of
// prev[i] (-1: gone), added the indexes of next not in prev, ascending.
func matchEndpoints(prev, next []synth.Endpoint) (kept, added []int32) {
	kept = make([]int32, len(prev))
	i, j := 0, 0
	for i < len(prev) || j < len(next) {
		c := 0
		switch {
		case i == len(prev):
			c = 1
		case j == len(next):
			c = -1
		default:
			c = endpointCmp(prev[i], next[j])
		}
		switch {
		case c < 0:
			kept[i] = -1
			i++
		case c > 0:
			added = append(added, int32(j))
			j++
		default:
			kept[i] = int32(j)
			i, j = i+1, j+1
		}
	}
	return kept, added
}

// fillHoles moves the entries of the highest slots into the lowest holes
// (-1) until the slots are dense.
func fillHoles(s []int32) []int32 {
	lo := 0
	for {
		for len(s) > 0 && s[len(s)-1] < 0 {
			s = s[:len(s)-1]
		}
		for lo < len(s) && s[lo] >= 0 {
			lo++
		}
		if lo >= len(s) {
			return s
		}
		s[lo], s = s[len(s)-1], s[:len(s)-1]
	}
}

func isIdentity(s []int32) bool {
	for i, v := range s {
		if v != int32(i) {
			return false
		}
	}
	return true
}
