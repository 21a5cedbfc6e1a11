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
	addr        netip.Addr
	port        uint16
	nodeName    string
	hints       *discoveryv1.EndpointHints // shared with the slice, never modified
	ready       bool
	serving     bool
	terminating bool
}

// sliceIndex maps "namespace/service" to that Service's slices, sorted by
// slice name so merging is deterministic.
type sliceIndex map[string][]*discoveryv1.EndpointSlice

func indexSlices(all []*discoveryv1.EndpointSlice, w *warnings) sliceIndex {
	idx := sliceIndex{}
	for _, s := range all {
		if s == nil {
			continue
		}
		object := "EndpointSlice " + s.Namespace + "/" + s.Name
		svc := s.Labels[discoveryv1.LabelServiceName]
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
		slices.SortFunc(list, func(a, b *discoveryv1.EndpointSlice) int { return strings.Compare(a.Name, b.Name) })
	}
	return idx
}

// endpointsFor collects the endpoints of one Service port in family f,
// merging duplicates across slices (ready if any copy is ready).
func endpointsFor(list []*discoveryv1.EndpointSlice, pi portInfo, f Family, w *warnings) []rawEndpoint {
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
		for _, ep := range s.Endpoints {
			re, ok := parseEndpoint(s, ep, port, f, w)
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
func slicePort(s *discoveryv1.EndpointSlice, pi portInfo) (uint16, bool) {
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

func parseEndpoint(s *discoveryv1.EndpointSlice, ep discoveryv1.Endpoint, port uint16, f Family, w *warnings) (rawEndpoint, bool) {
	if len(ep.Addresses) == 0 {
		return rawEndpoint{}, false
	}
	addr, err := ParseAddrSloppy(ep.Addresses[0])
	if err != nil || FamilyOf(addr) != f {
		w.add("EndpointSlice "+s.Namespace+"/"+s.Name, "InvalidEndpointAddress",
			"address %q is not a valid %s address; the endpoint is ignored", ep.Addresses[0], f)
		return rawEndpoint{}, false
	}
	re := rawEndpoint{addr: addr, port: port}
	if ep.NodeName != nil {
		re.nodeName = *ep.NodeName
	}
	c := ep.Conditions
	re.ready = c.Ready == nil || *c.Ready // nil means ready, per the API
	re.serving = re.ready
	if c.Serving != nil {
		re.serving = *c.Serving
	}
	re.terminating = c.Terminating != nil && *c.Terminating
	re.hints = ep.Hints
	return re, true
}

// mergeEndpoint adds re to list, merging it with an earlier copy of the
// same address and port. Duplicates can only come from a second slice (the
// API rejects none within one, but the controller never writes them), so
// the index is kept only when the Service has several slices.
func mergeEndpoint(list []rawEndpoint, seen map[netip.AddrPort]int, re rawEndpoint, several bool) ([]rawEndpoint, map[netip.AddrPort]int) {
	key := netip.AddrPortFrom(re.addr, re.port)
	if !several {
		return append(list, re), seen
	}
	if seen == nil {
		seen = make(map[netip.AddrPort]int)
	}
	if i, dup := seen[key]; dup {
		list[i].ready = list[i].ready || re.ready
		list[i].serving = list[i].serving || re.serving
		list[i].terminating = list[i].terminating && re.terminating
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
	usable := filterEndpoints(raw, func(r rawEndpoint) bool { return r.ready })
	if useTopology {
		usable = topologyFilter(usable, raw, node)
	}
	if len(usable) == 0 {
		usable = filterEndpoints(raw, func(r rawEndpoint) bool { return r.serving && r.terminating })
	}
	cluster = toEndpoints(usable, node)
	if !needLocal {
		return cluster, nil
	}
	isLocal := func(r rawEndpoint) bool { return node.name != "" && r.nodeName == node.name }
	mine := filterEndpoints(raw, func(r rawEndpoint) bool { return r.ready && isLocal(r) })
	if len(mine) == 0 {
		mine = filterEndpoints(raw, func(r rawEndpoint) bool { return r.serving && r.terminating && isLocal(r) })
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
	if r.hints == nil {
		return nil
	}
	names := make([]string, len(r.hints.ForNodes))
	for i, n := range r.hints.ForNodes {
		names[i] = n.Name
	}
	return names
}

func zoneHints(r rawEndpoint) []string {
	if r.hints == nil {
		return nil
	}
	names := make([]string, len(r.hints.ForZones))
	for i, z := range r.hints.ForZones {
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
			Addr:        r.addr,
			Port:        r.port,
			Local:       node.name != "" && r.nodeName == node.name,
			Terminating: !r.ready,
		})
	}
	sortEndpoints(out)
	return out
}
