package flowtest

import (
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// server is one echo server a pod runs.
type server struct {
	proto synth.Protocol
	port  uint16
}

// podPlan lists every pod address a scenario needs and the echo servers it
// runs (none for a pod that is only a flow source).
type podPlan map[netip.Addr]map[server]bool

func (p podPlan) want(a netip.Addr) {
	if p[a] == nil {
		p[a] = map[server]bool{}
	}
}

func (p podPlan) add(a netip.Addr, proto synth.Protocol, port uint16) {
	p.want(a)
	p[a][server{proto, port}] = true
}

// addrs returns the planned addresses, sorted.
func (p podPlan) addrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(p))
	for a := range p {
		out = append(out, a)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// servers returns the servers of a, sorted.
func (p podPlan) servers(a netip.Addr) []server {
	out := make([]server, 0, len(p[a]))
	for s := range p[a] {
		out = append(out, s)
	}
	slices.SortFunc(out, func(x, y server) int {
		if x.proto != y.proto {
			return strings.Compare(string(x.proto), string(y.proto))
		}
		return int(x.port) - int(y.port)
	})
	return out
}

// planPods collects every endpoint of the scenario, from the built
// Rulesets, the flow table (DNAT targets and pods dialled directly) and the
// input EndpointSlices (endpoints of headless Services and of Services of
// other proxies have no rules but are still pods), plus every flow source
// inside inCluster.
func planPods(s *scenario.Scenario, res synth.Result, inCluster func(netip.Addr) bool) podPlan {
	p := podPlan{}
	for _, rs := range res.Rulesets() {
		for i := range rs.Services {
			sp := rs.Services[i]
			for _, ep := range sp.AllEndpoints() {
				p.add(ep.Addr, sp.Name.Protocol, ep.Port)
			}
		}
	}
	for _, f := range s.Flows {
		for _, ep := range f.Expect.Endpoints {
			p.add(ep.Addr(), f.Proto, ep.Port())
		}
		if inCluster(f.Dst.Addr()) {
			p.add(f.Dst.Addr(), f.Proto, f.Dst.Port())
		}
		if inCluster(f.Src) {
			p.want(f.Src)
		}
	}
	addSlices(p, s.Input)
	for a := range p {
		if !inCluster(a) {
			delete(p, a) // reported by the flows that need it
		}
	}
	return p
}

// addSlices adds the endpoints of the input EndpointSlices that parse
// strictly (bad addresses are the model's business, not the lab's).
func addSlices(p podPlan, in synth.Input) {
	for _, sl := range in.EndpointSlices {
		if sl == nil {
			continue
		}
		for _, ep := range sl.Endpoints {
			for _, s := range ep.Addresses {
				a, err := netip.ParseAddr(s)
				if err != nil {
					continue
				}
				for _, port := range sl.Ports {
					if port.Port == nil || *port.Port < 1 || *port.Port > 65535 {
						continue
					}
					proto := corev1.ProtocolTCP
					if port.Protocol != nil {
						proto = *port.Protocol
					}
					p.add(a, synth.Protocol(strings.ToLower(string(proto))), uint16(*port.Port))
				}
			}
		}
	}
}
