package synth

import (
	"reflect"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Builder is Build with a memory, for the node agent: a Service whose
// object and EndpointSlices are the same pointers as in the previous Build
// (informer caches and the manifest source keep unchanged objects) is not
// parsed or categorised again, so a one-endpoint change costs work
// proportional to the change plus a cheap pass over every Service (claims
// and sorting). Its Result is always exactly Build's. A Builder is not safe
// for concurrent use; the zero value is ready.
type Builder struct {
	cfg     Config
	node    nodeFacts
	entries map[*corev1.Service]*serviceEntry
}

// serviceEntry is everything derived from one Service and its slices alone.
type serviceEntry struct {
	slices   []*discoveryv1.EndpointSlice
	info     *serviceInfo // nil when the Service cannot be programmed
	ports    map[Family][]ServicePort
	warnings []Warning
	// fresh: built by this Build. trimmed: per family, whether claims took
	// part of a port away in the last assemble, so that its ports can
	// differ from ports even when the entry did not change.
	fresh   bool
	trimmed map[Family]bool
}

// Build is like the package-level Build, reusing what it can.
func (b *Builder) Build(in Input, cfg Config) Result {
	w := &warnings{}
	node := resolveNode(in, cfg)
	checkLocalDetect(cfg, node, w)
	res := Result{Changed: &Changes{Ports: map[Family][]ServicePortName{}}}
	if b.entries == nil || !reflect.DeepEqual(b.cfg, cfg) || !reflect.DeepEqual(b.node, node) {
		b.cfg, b.node, b.entries = cfg, node, map[*corev1.Service]*serviceEntry{}
		res.Changed = nil // every port is new
	}
	idx := indexSlices(in.EndpointSlices, w)
	prev := b.entries
	entries := b.refresh(in.Services, idx, w)
	gone := 0
	for svc, e := range prev {
		next, kept := b.entries[svc]
		if !kept {
			gone++
		}
		if res.Changed != nil && next != e {
			res.Changed.addEntry(e) // gone, or replaced by a fresh entry
		}
	}
	if res.Changed != nil {
		// Ruleset-wide fields come from the config and the node (a change
		// starts over, above) and from the Services' ClusterIPs, which
		// change only when a Service object comes or goes.
		res.Changed.Fields = gone > 0 || len(b.entries) != len(prev)-gone
	}
	for _, f := range []Family{IPv4, IPv6} {
		rs := b.assemble(f, entries, w, res.Changed)
		if f == IPv4 {
			res.IPv4 = rs
		} else {
			res.IPv6 = rs
		}
	}
	res.Warnings = w.sorted()
	return res
}

// refresh returns the entries of the programmable Services, oldest first,
// rebuilding only those whose Service or slices changed.
func (b *Builder) refresh(services []*corev1.Service, idx sliceIndex, w *warnings) []*serviceEntry {
	next := make(map[*corev1.Service]*serviceEntry, len(services))
	var out []*serviceEntry
	for _, svc := range services {
		if svc == nil || !wantsRules(svc) {
			continue
		}
		list := idx[svc.Namespace+"/"+svc.Name]
		e := b.entries[svc]
		if e == nil || !slices.Equal(e.slices, list) {
			e = b.newEntry(svc, list)
		} else {
			e.fresh = false
		}
		next[svc] = e
		for _, wn := range e.warnings {
			w.add(wn.Object, wn.Reason, "%s", wn.Message)
		}
		if e.info != nil {
			out = append(out, e)
		}
	}
	b.entries = next
	sort.SliceStable(out, func(i, j int) bool { return olderFirst(out[i].info.svc, out[j].info.svc) < 0 })
	return out
}

// newEntry parses svc and computes the candidate ports of each family,
// endpoints included, before any conflict with other Services is settled.
func (b *Builder) newEntry(svc *corev1.Service, list []*discoveryv1.EndpointSlice) *serviceEntry {
	own := &warnings{}
	e := &serviceEntry{slices: list, ports: map[Family][]ServicePort{}, fresh: true, trimmed: map[Family]bool{}}
	e.info = parseService(svc, b.cfg, own)
	if e.info != nil {
		for _, f := range []Family{IPv4, IPv6} {
			e.ports[f] = b.candidatePorts(e.info, f, list, own)
		}
	}
	e.warnings = own.list
	return e
}

func (b *Builder) candidatePorts(si *serviceInfo, f Family, list []*discoveryv1.EndpointSlice, w *warnings) []ServicePort {
	clusterIP, ok := si.clusterIPs[f]
	if !ok {
		return nil
	}
	rs := newRuleset(f, b.cfg, b.node) // only its family facts are used
	out := make([]ServicePort, 0, len(si.ports))
	for _, pi := range si.ports {
		sp := rs.servicePort(si, pi, clusterIP)
		raw := endpointsFor(list, pi, f, w)
		sp.ClusterEndpoints, sp.LocalEndpoints = categorize(raw, b.node, si.topology, sp.InternalPolicyLocal || sp.ExternalPolicyLocal)
		out = append(out, sp)
	}
	return out
}

// assemble builds the Ruleset of family f: oldest Services claim their
// entry points first; later claimants lose the contested part. It adds to
// changed (unless nil) the ports of fresh entries and of entries whose
// claims took something away now or in the previous Build.
func (b *Builder) assemble(f Family, entries []*serviceEntry, w *warnings, changed *Changes) *Ruleset {
	rs := newRuleset(f, b.cfg, b.node)
	n := 0
	for _, e := range entries {
		n += len(e.ports[f])
	}
	rs.Services = make([]ServicePort, 0, n)
	claims := claimSet{}
	for _, e := range entries {
		if ip, ok := e.info.clusterIPs[f]; ok {
			rs.ClusterIPs = append(rs.ClusterIPs, ip)
		}
		trimmed := false
		for i := range e.ports[f] {
			sp := e.ports[f][i] // a copy: claims may trim it
			ok := claims.claim(&sp, e.info.object, w)
			if ok {
				rs.Services = append(rs.Services, sp)
			}
			trimmed = trimmed || !ok || lostClaims(&e.ports[f][i], &sp)
		}
		if changed != nil && (e.fresh || trimmed || e.trimmed[f]) {
			changed.addPorts(f, e.ports[f])
		}
		e.trimmed[f] = trimmed
	}
	rs.ClusterIPs = sortAddrs(rs.ClusterIPs)
	slices.SortFunc(rs.Services, func(a, b ServicePort) int { return a.Name.Compare(b.Name) })
	return rs
}

// lostClaims reports whether claims took an entry point of candidate away
// (claimed is what remained).
func lostClaims(candidate, claimed *ServicePort) bool {
	return claimed.NodePort != candidate.NodePort || len(claimed.ExternalIPs) != len(candidate.ExternalIPs) ||
		len(claimed.LoadBalancerIPs) != len(candidate.LoadBalancerIPs)
}

func (c *Changes) addEntry(e *serviceEntry) {
	for f, ports := range e.ports {
		c.addPorts(f, ports)
	}
}

func (c *Changes) addPorts(f Family, ports []ServicePort) {
	for i := range ports {
		c.Ports[f] = append(c.Ports[f], ports[i].Name)
	}
}
