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
	x := &elemIndex{owner: map[mapKey]string{}, refs: map[mapKey]int{}}
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
