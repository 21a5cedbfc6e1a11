package nftables

import (
	"net/netip"
	"runtime"
	"testing"
	"unsafe"

	"github.com/svcnat/svcnat/synth"
)

// The index holds a key per ClusterIP, NodePort and hairpin address of
// the table; its size is the index's memory at 10k Services.
func TestMapKeyIsSmall(t *testing.T) {
	if n := unsafe.Sizeof(mapKey{}); n > 24 {
		t.Fatalf("mapKey is %d bytes, want at most 24", n)
	}
}

func TestEverySharedMapHasItsOwnKeyIndex(t *testing.T) {
	seen := map[uint8]string{}
	for _, m := range sharedMaps {
		i := setIndex(m.name)
		if other, ok := seen[i]; ok {
			t.Errorf("%s and %s share index %d", m.name, other, i)
		}
		seen[i] = m.name
	}
}

// Keys equal exactly when set, address, protocol, port and slot are.
func TestMapKeyTellsEveryFieldApart(t *testing.T) {
	a := netip.MustParseAddr("10.96.0.1")
	base := newMapKey(mapServiceIPs, a, synth.TCP, 80, 0)
	if newMapKey(mapServiceIPs, a, synth.TCP, 80, 0) != base {
		t.Fatal("the same element gave two keys")
	}
	differing := map[string]mapKey{
		"set":   newMapKey(mapNoEndpoints, a, synth.TCP, 80, 0),
		"addr":  newMapKey(mapServiceIPs, netip.MustParseAddr("10.96.0.2"), synth.TCP, 80, 0),
		"proto": newMapKey(mapServiceIPs, a, synth.UDP, 80, 0),
		"port":  newMapKey(mapServiceIPs, a, synth.TCP, 81, 0),
		"slot":  newMapKey(mapServiceIPs, a, synth.TCP, 80, 1),
		"v6":    newMapKey(mapServiceIPs, netip.MustParseAddr("fd00::1"), synth.TCP, 80, 0),
	}
	for field, k := range differing {
		if k == base {
			t.Errorf("keys differing in %s are equal", field)
		}
	}
	if hairpinKey(a) == newMapKey(mapServiceIPs, a, "", 0, 0) {
		t.Error("a hairpin key equals a service-ips key")
	}
}

func TestElemIndexFindsAKeyTwoPortsOwn(t *testing.T) {
	x := &elemIndex{owner: map[mapKey]string{}}
	e := mapElem{mapServiceIPs, elem{addr: netip.MustParseAddr("10.96.0.1"), proto: synth.TCP, port: 80}}
	x.addOwned(&fragment{sp: synth.ServicePort{ID: "a"}, elems: []mapElem{e}})
	if x.dups {
		t.Fatal("one owner reported as two")
	}
	x.addOwned(&fragment{sp: synth.ServicePort{ID: "b"}, elems: []mapElem{e}})
	if !x.dups {
		t.Fatal("a key owned by two ports not noticed")
	}
}

// BenchmarkElemIndexHeap reports the live heap an element index holds
// (index-MB) at 1k and 10k Services × 10 endpoints.
func BenchmarkElemIndexHeap(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) {
		m, _, err := buildModel(bigRuleset(n), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		var held *elemIndex
		var mb float64
		for range b.N {
			held = nil
			before := liveHeap()
			held = newElemIndex(m)
			mb = float64(liveHeap()-before) / 1e6
		}
		runtime.KeepAlive(held)
		b.ReportMetric(mb, "index-MB")
	})
}

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// The hairpin counts go up and down per address, forget an address no
// port holds, and keep the families apart but not an address from its
// IPv4-mapped form (as mapKey does).
func TestHairpinRefsCount(t *testing.T) {
	var r hairpinRefs
	v4, v6 := netip.MustParseAddr("10.128.0.5"), netip.MustParseAddr("fd00::5")
	r.add(v4, 1)
	r.add(netip.AddrFrom16(v4.As16()), 1) // ::ffff:10.128.0.5
	r.add(v6, 1)
	if got := r.get(v4); got != 2 {
		t.Errorf("count of %s = %d, want 2 (its mapped form is the same address)", v4, got)
	}
	if got, want := r.len(), 2; got != want {
		t.Errorf("len = %d, want %d", got, want)
	}
	r.add(v4, -1)
	r.add(v4, -1)
	r.add(v6, -1)
	if r.get(v4) != 0 || r.get(v6) != 0 || r.len() != 0 {
		t.Errorf("after releasing every reference: %d, %d, len %d; want all 0", r.get(v4), r.get(v6), r.len())
	}
	r.add(v6, -1) // an extra release must not leave a negative count behind
	if r.len() != 0 {
		t.Errorf("a release of an absent address left %d entries", r.len())
	}
}

// BenchmarkHairpinRefsHeap reports the live heap (refs-MB) of the hairpin
// counts for 100k distinct endpoint addresses, as at 10k Services × 10
// endpoints with a pod each.
func BenchmarkHairpinRefsHeap(b *testing.B) {
	var held hairpinRefs
	var mb float64
	for range b.N {
		held = hairpinRefs{}
		before := liveHeap()
		for i := range 100000 {
			held.add(netip.AddrFrom4([4]byte{10, 128 + byte(i>>16), byte(i >> 8), byte(i)}), 1)
		}
		mb = float64(liveHeap()-before) / 1e6
	}
	runtime.KeepAlive(held)
	b.ReportMetric(mb, "refs-MB")
}
