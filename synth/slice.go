package synth

import (
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// EndpointSlice is what synth reads of a discovery/v1 EndpointSlice, in a
// compact form. A node agent holds every slice of the cluster: at 10k
// Services × 10 endpoints client-go's decoded objects were ≈ 2.5 KB per
// slice (a 96-byte struct, an address list and a string per endpoint, a
// label map per slice); in this form an endpoint takes 56 bytes and the
// agent's cached slice ≈ 1.4 KB. SliceOf makes
// one; it is plain data and never modified once handed to synth.
type EndpointSlice struct {
	Namespace, Name string
	// ServiceName is the kubernetes.io/service-name label: the Service the
	// slice belongs to ("" when the label is missing; the slice is ignored).
	ServiceName string
	AddressType discoveryv1.AddressType
	Ports       []discoveryv1.EndpointPort
	// Endpoints are those with at least one address.
	Endpoints []SliceEndpoint
	// Unparsed holds, by index in Endpoints, the address text of the
	// endpoints whose address is not an IP address (their Addr is the zero
	// Addr) or not one of AddressType's family: they are warned about and
	// skipped. Nil when there are none.
	Unparsed map[int]string
	// TriggerTime is the endpoints.kubernetes.io/last-change-trigger-time
	// annotation (zero when absent or unreadable). synth does not read it:
	// it is carried for a node agent's network programming latency metric.
	TriggerTime time.Time
}

// SliceEndpoint is one endpoint of an EndpointSlice: its first address
// (the only one a proxy uses) and the facts synth routes by, with the API's
// defaults for conditions applied.
type SliceEndpoint struct {
	Addr     netip.Addr
	NodeName string
	// Hints is shared with the API object and never modified.
	Hints *discoveryv1.EndpointHints
	// Ready is true unless the condition says false (nil means ready);
	// Serving defaults to Ready; Terminating to false.
	Ready, Serving, Terminating bool
}

// SliceOf returns the compact form of s (nil for nil). Endpoints without
// an address are dropped: no proxy can route to them.
func SliceOf(s *discoveryv1.EndpointSlice) *EndpointSlice {
	if s == nil {
		return nil
	}
	c := &EndpointSlice{
		Namespace:   s.Namespace,
		Name:        s.Name,
		ServiceName: s.Labels[discoveryv1.LabelServiceName],
		AddressType: sharedAddressType(s.AddressType),
		Ports:       s.Ports,
	}
	if v, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]; ok {
		c.TriggerTime, _ = time.Parse(time.RFC3339Nano, v) // unreadable: zero, like absent
	}
	n := 0
	for _, ep := range s.Endpoints {
		if len(ep.Addresses) > 0 {
			n++
		}
	}
	if n == 0 {
		return c
	}
	c.Endpoints = make([]SliceEndpoint, 0, n)
	for _, ep := range s.Endpoints {
		if len(ep.Addresses) == 0 {
			continue
		}
		addr, err := ParseAddrSloppy(ep.Addresses[0])
		if err != nil || !ofAddressType(addr, s.AddressType) {
			if c.Unparsed == nil {
				c.Unparsed = map[int]string{}
			}
			c.Unparsed[len(c.Endpoints)] = ep.Addresses[0]
		}
		c.Endpoints = append(c.Endpoints, endpointOf(addr, ep))
	}
	return c
}

// sharedAddressType returns the package constant for the common types, so
// that compact slices do not keep a decoded copy of the word each.
func sharedAddressType(t discoveryv1.AddressType) discoveryv1.AddressType {
	switch t {
	case discoveryv1.AddressTypeIPv4:
		return discoveryv1.AddressTypeIPv4
	case discoveryv1.AddressTypeIPv6:
		return discoveryv1.AddressTypeIPv6
	}
	return t
}

// ofAddressType: addr is of the slice's family (slices of other types are
// ignored whole).
func ofAddressType(addr netip.Addr, t discoveryv1.AddressType) bool {
	switch t {
	case discoveryv1.AddressTypeIPv4:
		return FamilyOf(addr) == IPv4
	case discoveryv1.AddressTypeIPv6:
		return FamilyOf(addr) == IPv6
	}
	return true
}

func endpointOf(addr netip.Addr, ep discoveryv1.Endpoint) SliceEndpoint {
	se := SliceEndpoint{Addr: addr, Hints: ep.Hints}
	if ep.NodeName != nil {
		se.NodeName = *ep.NodeName
	}
	c := ep.Conditions
	se.Ready = c.Ready == nil || *c.Ready
	se.Serving = se.Ready
	if c.Serving != nil {
		se.Serving = *c.Serving
	}
	se.Terminating = c.Terminating != nil && *c.Terminating
	return se
}

// SlicesOf returns the compact form of every slice in list, in order.
func SlicesOf(list []*discoveryv1.EndpointSlice) []*EndpointSlice {
	out := make([]*EndpointSlice, 0, len(list))
	for _, s := range list {
		out = append(out, SliceOf(s))
	}
	return out
}

// SliceMemo turns an Input's API EndpointSlices into compact ones,
// handing out the same compact slice for the same API object as long as
// the object is in every input it is given: Builder tells slices apart by
// pointer, so it then sees only the objects that changed. A source that
// keeps unchanged objects (informer caches, the manifest folder source)
// costs a map lookup per slice. The zero value is ready; it is not safe
// for concurrent use.
type SliceMemo struct {
	last map[*discoveryv1.EndpointSlice]*EndpointSlice
}

// Compact returns in with its EndpointSlices converted and put before its
// Slices, and EndpointSlices nil.
func (m *SliceMemo) Compact(in Input) Input {
	if len(in.EndpointSlices) == 0 {
		m.last = nil
		return in
	}
	next := make(map[*discoveryv1.EndpointSlice]*EndpointSlice, len(in.EndpointSlices))
	out := make([]*EndpointSlice, 0, len(in.EndpointSlices)+len(in.Slices))
	for _, s := range in.EndpointSlices {
		c, ok := m.last[s]
		if !ok {
			c = SliceOf(s)
		}
		if s != nil {
			next[s] = c
		}
		out = append(out, c)
	}
	m.last = next
	in.Slices, in.EndpointSlices = append(out, in.Slices...), nil
	return in
}
