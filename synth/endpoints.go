package synth

import (
	"net/netip"
	"slices"
	"strings"

	discoveryv1 "k8s.io/api/discovery/v1"
)

// rawEndpoint is one endpoint address of one slice port, with the facts
// categorisation needs.
type rawEndpoint struct {
	SliceEndpoint
	port uint16
}

// sliceIndex maps "namespace/service" to that Service's slices, sorted by
// slice name so merging is deterministic.
type sliceIndex map[string][]*EndpointSlice

func indexSlices(all []*EndpointSlice, w *warnings) sliceIndex {
	idx := sliceIndex{}
	for _, s := range all {
		if s == nil {
			continue
		}
		object := "EndpointSlice " + s.Namespace + "/" + s.Name
		svc := s.ServiceName
		switch {
		case svc == "":
			w.add(object, "MissingServiceName", "no %s label; the slice is ignored", discoveryv1.LabelServiceName)
			continue
		case s.AddressType == discoveryv1.AddressTypeFQDN:
			w.add(object, "UnsupportedAddressType", "FQDN slices are not supported; the slice is ignored")
			continue
		case s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6:
			w.add(object, "UnsupportedAddressType", "address type %q; the slice is ignored", s.AddressType)
			continue
		}
		key := s.Namespace + "/" + svc
		idx[key] = append(idx[key], s)
	}
	for _, list := range idx {
		slices.SortFunc(list, func(a, b *EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	}
	return idx
}

// endpointsFor collects the endpoints of one Service port in family f,
// merging duplicates across slices (ready if any copy is ready).
func endpointsFor(list []*EndpointSlice, pi portInfo, f Family, w *warnings) []rawEndpoint {
	total := 0
	for _, s := range list {
		total += len(s.Endpoints)
	}
	out := make([]rawEndpoint, 0, total)
	var seen map[netip.AddrPort]int // built lazily: most Services have one slice
	for _, s := range list {
		if (f == IPv4) != (s.AddressType == discoveryv1.AddressTypeIPv4) {
			continue
		}
		port, ok := slicePort(s, pi)
		if !ok {
			continue
		}
		for i := range s.Endpoints {
			re, ok := sliceEndpoint(s, i, port, f, w)
			if ok {
				out, seen = mergeEndpoint(out, seen, re, len(list) > 1)
			}
		}
	}
	return out
}

// slicePort finds the slice's port for the Service port: same name, same
// protocol. This is how named targetPorts are resolved: the EndpointSlice
// controller has already turned them into numbers per endpoint set.
func slicePort(s *EndpointSlice, pi portInfo) (uint16, bool) {
	for _, p := range s.Ports {
		name, proto := "", TCP
		if p.Name != nil {
			name = *p.Name
		}
		if p.Protocol != nil {
			proto = Protocol(strings.ToLower(string(*p.Protocol)))
		}
		if name != pi.name || proto != pi.proto || p.Port == nil {
			continue
		}
		if *p.Port < 1 || *p.Port > 65535 {
			return 0, false
		}
		return uint16(*p.Port), true
	}
	return 0, false
}

// sliceEndpoint is endpoint i of s at port, when its address is one of
// family f.
func sliceEndpoint(s *EndpointSlice, i int, port uint16, f Family, w *warnings) (rawEndpoint, bool) {
	ep := s.Endpoints[i]
	if !ep.Addr.IsValid() || FamilyOf(ep.Addr) != f {
		text, bad := s.Unparsed[i]
		if !bad {
			text = ep.Addr.String()
		}
		w.add("EndpointSlice "+s.Namespace+"/"+s.Name, "InvalidEndpointAddress",
			"address %q is not a valid %s address; the endpoint is ignored", text, f)
		return rawEndpoint{}, false
	}
	return rawEndpoint{SliceEndpoint: ep, port: port}, true
}

// mergeEndpoint adds re to list, merging it with an earlier copy of the
// same address and port. Duplicates can only come from a second slice (the
// API rejects none within one, but the controller never writes them), so
// the index is kept only when the Service has several slices.
func mergeEndpoint(list []rawEndpoint, seen map[netip.AddrPort]int, re rawEndpoint, several bool) ([]rawEndpoint, map[netip.AddrPort]int) {
	key := netip.AddrPortFrom(re.Addr, re.port)
	if !several {
		return append(list, re), seen
	}
	if seen == nil {
		seen = make(map[netip.AddrPort]int)
	}
	if i, dup := seen[key]; dup {
		list[i].Ready = list[i].Ready || re.Ready
		list[i].Serving = list[i].Serving || re.Serving
		list[i].Terminating = list[i].Terminating && re.Terminating
		return list, seen
	}
	seen[key] = len(list)
	return append(list, re), seen
}

// categorize picks the endpoints of each traffic policy, like kube-proxy's
// CategorizeEndpoints: ready endpoints (topology-filtered when every
// endpoint carries hints for this node), falling back to serving-and-
// terminating ones when no ready endpoint exists.
func categorize(raw []rawEndpoint, node nodeFacts, useTopology, needLocal bool) (cluster, local []Endpoint) {
	usable := filterEndpoints(raw, func(r rawEndpoint) bool { return r.Ready })
	if useTopology {
		usable = topologyFilter(usable, raw, node)
	}
	if len(usable) == 0 {
		usable = filterEndpoints(raw, func(r rawEndpoint) bool { return r.Serving && r.Terminating })
	}
	cluster = toEndpoints(usable, node)
	if !needLocal {
		return cluster, nil
	}
	isLocal := func(r rawEndpoint) bool { return node.name != "" && r.NodeName == node.name }
	mine := filterEndpoints(raw, func(r rawEndpoint) bool { return r.Ready && isLocal(r) })
	if len(mine) == 0 {
		mine = filterEndpoints(raw, func(r rawEndpoint) bool { return r.Serving && r.Terminating && isLocal(r) })
	}
	return cluster, toEndpoints(mine, node)
}

func filterEndpoints(raw []rawEndpoint, keep func(rawEndpoint) bool) []rawEndpoint {
	n := 0
	for _, r := range raw {
		if keep(r) {
			n++
		}
	}
	if n == len(raw) {
		return raw // the common case: every endpoint qualifies; callers never modify it
	}
	out := make([]rawEndpoint, 0, n)
	for _, r := range raw {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// topologyFilter applies node hints (PreferSameNode) or zone hints
// (PreferSameZone / topology-aware routing) when every ready endpoint
// carries them and at least one matches this node; otherwise it keeps all.
func topologyFilter(ready, raw []rawEndpoint, node nodeFacts) []rawEndpoint {
	if len(ready) == 0 {
		return ready
	}
	if node.name != "" && allHinted(ready, nodeHints) {
		if byNode := hinted(ready, node.name, nodeHints); len(byNode) > 0 {
			return byNode
		}
	}
	if node.zone != "" && allHinted(ready, zoneHints) {
		if byZone := hinted(ready, node.zone, zoneHints); len(byZone) > 0 {
			return byZone
		}
	}
	return ready
}

func nodeHints(r rawEndpoint) []string {
	if r.Hints == nil {
		return nil
	}
	names := make([]string, len(r.Hints.ForNodes))
	for i, n := range r.Hints.ForNodes {
		names[i] = n.Name
	}
	return names
}

func zoneHints(r rawEndpoint) []string {
	if r.Hints == nil {
		return nil
	}
	names := make([]string, len(r.Hints.ForZones))
	for i, z := range r.Hints.ForZones {
		names[i] = z.Name
	}
	return names
}

func allHinted(eps []rawEndpoint, hints func(rawEndpoint) []string) bool {
	for _, r := range eps {
		if len(hints(r)) == 0 {
			return false
		}
	}
	return true
}

func hinted(eps []rawEndpoint, want string, hints func(rawEndpoint) []string) []rawEndpoint {
	var out []rawEndpoint
	for _, r := range eps {
		if slices.Contains(hints(r), want) {
			out = append(out, r)
		}
	}
	return out
}

func toEndpoints(raw []rawEndpoint, node nodeFacts) []Endpoint {
	if len(raw) == 0 {
		return nil
	}
	out := make([]Endpoint, 0, len(raw))
	for _, r := range raw {
		out = append(out, Endpoint{
			Addr:        r.Addr,
			Port:        r.port,
			Local:       node.name != "" && r.NodeName == node.name,
			Terminating: !r.Ready,
		})
	}
	sortEndpoints(out)
	return out
}
