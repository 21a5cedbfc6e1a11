package synth_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// TestSliceOf: the compact form applies the API's condition defaults,
// keeps each endpoint's first address, drops endpoints without one, and
// keeps the text of addresses synth must warn about.
func TestSliceOf(t *testing.T) {
	conds := func(r, s, term *bool) discoveryv1.EndpointConditions {
		return discoveryv1.EndpointConditions{Ready: r, Serving: s, Terminating: term}
	}
	hints := &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "a"}}}
	in := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: "web-1",
			Labels:      map[string]string{discoveryv1.LabelServiceName: "web", "team": "a"},
			Annotations: map[string]string{corev1.EndpointsLastChangeTriggerTime: "2026-01-02T03:04:05.5Z"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.1", "10.0.0.99"}, NodeName: ptr.To("n1"), Hints: hints},
			{Addresses: nil, NodeName: ptr.To("n1")},
			{Addresses: []string{"10.0.0.2"}, Conditions: conds(ptr.To(false), nil, ptr.To(true))},
			{Addresses: []string{"10.0.0.3"}, Conditions: conds(ptr.To(false), ptr.To(true), ptr.To(true))},
			{Addresses: []string{"not-an-ip"}},
			{Addresses: []string{"fd00::1"}},
			{Addresses: []string{"010.000.000.004"}},
		},
	}
	want := &synth.EndpointSlice{
		Namespace: "prod", Name: "web-1", ServiceName: "web", AddressType: discoveryv1.AddressTypeIPv4,
		Ports: in.Ports,
		Endpoints: []synth.SliceEndpoint{
			{Addr: netip.MustParseAddr("10.0.0.1"), NodeName: "n1", Hints: hints, Ready: true, Serving: true},
			{Addr: netip.MustParseAddr("10.0.0.2"), Terminating: true},
			{Addr: netip.MustParseAddr("10.0.0.3"), Serving: true, Terminating: true},
			{Ready: true, Serving: true},
			{Addr: netip.MustParseAddr("fd00::1"), Ready: true, Serving: true},
			{Addr: netip.MustParseAddr("10.0.0.4"), Ready: true, Serving: true},
		},
		Unparsed:    map[int]string{3: "not-an-ip", 4: "fd00::1"},
		TriggerTime: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC),
	}
	if diff := cmp.Diff(want, synth.SliceOf(in), netipValues); diff != "" {
		t.Errorf("SliceOf (-want +got):\n%s", diff)
	}
	in.Annotations[corev1.EndpointsLastChangeTriggerTime] = "yesterday"
	if got := synth.SliceOf(in).TriggerTime; !got.IsZero() {
		t.Errorf("an unreadable trigger time became %v, want none", got)
	}
	if synth.SliceOf(nil) != nil {
		t.Error("SliceOf(nil) is not nil")
	}
}

// TestCompactSlicesBuildTheSame: every scenario builds the same rules and
// warnings from API EndpointSlices, from their compact forms, and from a
// mix of both.
func TestCompactSlicesBuildTheSame(t *testing.T) {
	for _, s := range scenario.All(t) {
		want := synth.Build(s.Input, s.Config)
		compact := s.Input
		compact.EndpointSlices, compact.Slices = nil, synth.SlicesOf(s.Input.EndpointSlices)
		mixed := s.Input
		half := len(s.Input.EndpointSlices) / 2
		mixed.EndpointSlices, mixed.Slices = s.Input.EndpointSlices[:half], synth.SlicesOf(s.Input.EndpointSlices[half:])
		for name, in := range map[string]synth.Input{"compact": compact, "mixed": mixed} {
			if diff := cmp.Diff(want, synth.Build(in, s.Config), netipValues); diff != "" {
				t.Errorf("%s, %s slices: Build differs (-API +%s):\n%s", s.Name, name, name, diff)
			}
		}
	}
}

// TestSliceMemoKeepsPointers: an API object in every input keeps its
// compact slice; a replaced object gets a new one; a removed one is
// forgotten.
func TestSliceMemoKeepsPointers(t *testing.T) {
	slice := func(name string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: name}}, AddressType: discoveryv1.AddressTypeIPv4}
	}
	a, b := slice("a"), slice("b")
	extra := synth.SliceOf(slice("c"))
	var m synth.SliceMemo
	first := m.Compact(synth.Input{EndpointSlices: []*discoveryv1.EndpointSlice{a, b}, Slices: []*synth.EndpointSlice{extra}})
	if len(first.EndpointSlices) != 0 || len(first.Slices) != 3 || first.Slices[2] != extra {
		t.Fatalf("Compact = %d API slices and compact %v, want none and a, b, c", len(first.EndpointSlices), first.Slices)
	}
	b2 := slice("b")
	second := m.Compact(synth.Input{EndpointSlices: []*discoveryv1.EndpointSlice{a, b2}})
	if second.Slices[0] != first.Slices[0] {
		t.Error("an unchanged API object got a new compact slice")
	}
	if second.Slices[1] == first.Slices[1] {
		t.Error("a replaced API object kept the old compact slice")
	}
	third := m.Compact(synth.Input{EndpointSlices: []*discoveryv1.EndpointSlice{a, b}})
	if third.Slices[1] == first.Slices[1] {
		t.Error("an object absent from the last input was remembered")
	}
}
