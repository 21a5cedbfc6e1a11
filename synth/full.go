package synth

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// buildFull is Build: every Service parsed, every claim settled and every
// port sorted anew. The Builder falls back to it for input its indexes
// cannot mirror (see Builder), and tests hold the Builder to it.
func buildFull(in Input, cfg Config) Result {
	w := &warnings{}
	node := resolveNode(in, cfg)
	checkLocalDetect(cfg, node, w)
	idx := indexSlices(append(SlicesOf(in.EndpointSlices), in.Slices...), w)
	var entries []*serviceEntry
	for _, svc := range in.Services {
		if svc == nil || !wantsRules(svc) {
			continue
		}
		e := newEntry(svc, idx[svc.Namespace+"/"+svc.Name], cfg, node)
		for _, wn := range e.warnings {
			w.add(wn.Object, wn.Reason, "%s", wn.Message)
		}
		if e.info != nil {
			entries = append(entries, e)
		}
	}
	sort.SliceStable(entries, func(i, j int) bool { return olderFirst(entries[i].info.svc, entries[j].info.svc) < 0 })
	res := Result{
		IPv4: assembleFull(IPv4, entries, cfg, node, w),
		IPv6: assembleFull(IPv6, entries, cfg, node, w),
	}
	res.Warnings = w.sorted()
	return res
}

// assembleFull builds the Ruleset of family f: oldest Services claim their
// entry points first; later claimants lose the contested part.
func assembleFull(f Family, entries []*serviceEntry, cfg Config, node nodeFacts, w *warnings) *Ruleset {
	rs := newRuleset(f, cfg, node)
	n := 0
	for _, e := range entries {
		n += len(e.ports[f.index()])
	}
	kept := make([]ServicePort, 0, n)
	claims := claimSet{}
	for _, e := range entries {
		if ip, ok := e.info.clusterIP(f); ok {
			rs.ClusterIPs = append(rs.ClusterIPs, ip)
		}
		ports := e.ports[f.index()]
		for i := range ports {
			sp := ports[i] // a copy: claims may trim it
			if claims.claim(&sp, e.info.object, w) {
				kept = append(kept, sp)
			}
		}
	}
	rs.ClusterIPs = sortAddrs(rs.ClusterIPs)
	rs.Services = make([]*ServicePort, len(kept))
	for i := range kept {
		rs.Services[i] = &kept[i]
	}
	slices.SortFunc(rs.Services, func(a, b *ServicePort) int { return a.Name.Compare(b.Name) })
	return rs
}

// newEntry parses svc and computes the candidate ports of each family,
// endpoints included, before any conflict with other Services is settled.
func newEntry(svc *corev1.Service, list []*EndpointSlice, cfg Config, node nodeFacts) *serviceEntry {
	own := &warnings{}
	e := &serviceEntry{slices: list}
	e.info = parseService(svc, cfg, own)
	if e.info != nil {
		for _, f := range families {
			e.ports[f.index()] = candidatePorts(e.info, f, list, cfg, node, own)
		}
	}
	e.warnings = own.list
	return e
}

func candidatePorts(si *serviceInfo, f Family, list []*EndpointSlice, cfg Config, node nodeFacts, w *warnings) []ServicePort {
	clusterIP, ok := si.clusterIP(f)
	if !ok {
		return nil
	}
	rs := newRuleset(f, cfg, node) // only its family facts are used
	out := make([]ServicePort, 0, len(si.ports))
	for _, pi := range si.ports {
		sp := rs.servicePort(si, pi, clusterIP)
		raw := endpointsFor(list, pi, f, w)
		sp.ClusterEndpoints, sp.LocalEndpoints = categorize(raw, node, si.topology, sp.InternalPolicyLocal || sp.ExternalPolicyLocal)
		out = append(out, sp)
	}
	return out
}
