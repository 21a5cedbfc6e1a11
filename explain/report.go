package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/synth"
)

// Report is the explanation of one Service: the schema of
// `svcnat explain -o json` (docs/CLI.md). Lists are never null.
type Report struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Type is the Service's type (ClusterIP when the spec leaves it empty).
	Type string `json:"type"`
	// NotProgrammed says why svcnat programs nothing for this Service
	// (ExternalName, headless, left to another proxy); empty otherwise.
	NotProgrammed string `json:"notProgrammed,omitempty"`
	// Ports has one entry per service port and IP family svcnat programs.
	Ports []Port `json:"ports"`
	// Warnings are the model's warnings about this Service.
	Warnings []Warning `json:"warnings"`
}

// Port is one service port of one IP family.
type Port struct {
	Name     string `json:"name"`     // the port's name; empty when unnamed
	Protocol string `json:"protocol"` // tcp, udp or sctp
	Family   string `json:"family"`   // ipv4 or ipv6
	Port     uint16 `json:"port"`
	// TargetPort is the spec's targetPort, with the numbers a named one
	// resolved to: "8080", "http (= 8080)", "8080,8081".
	TargetPort  string       `json:"targetPort"`
	EntryPoints []EntryPoint `json:"entryPoints"`
	Endpoints   []Endpoint   `json:"endpoints"`
	Flow        []Flow       `json:"flow"`
	Policies    Policies     `json:"policies"`
}

// Entry point kinds.
const (
	KindClusterIP      = "ClusterIP"
	KindNodePort       = "NodePort"
	KindLoadBalancerIP = "LoadBalancerIP"
	KindExternalIP     = "ExternalIP"
)

// EntryPoint is an address a client reaches the Service at.
type EntryPoint struct {
	Kind string `json:"kind"` // ClusterIP, NodePort, LoadBalancerIP or ExternalIP
	// IP is empty for a NodePort when no node address is known.
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
}

// Endpoint is one pod the Service's traffic may go to.
type Endpoint struct {
	IP   string `json:"ip"`
	Port uint16 `json:"port"`
	// Local is true when the pod runs on this node.
	Local bool `json:"local"`
	// Terminating is true when the pod is terminating and serves only
	// because no endpoint is ready.
	Terminating bool `json:"terminating"`
}

// Flow is one path from a client through an entry point to the pods.
type Flow struct {
	From  string     `json:"from"` // "pod" (inside the cluster) or "client" (outside)
	Entry EntryPoint `json:"entry"`
	// Service is ClusterIP:port, the Service the entry point leads to.
	Service string `json:"service"`
	// Endpoints are the pods ("IP:port") this flow may reach; empty when
	// the traffic is rejected or dropped (see Policies).
	Endpoints []string `json:"endpoints"`
}

// Policies are the rules that shape the flow, each in words.
type Policies struct {
	InternalTrafficPolicy string `json:"internalTrafficPolicy"` // Cluster or Local
	Internal              string `json:"internal"`
	// ExternalTrafficPolicy and External are set only for ports with
	// external entry points (NodePort, load-balancer, external IPs).
	ExternalTrafficPolicy string `json:"externalTrafficPolicy,omitempty"`
	External              string `json:"external,omitempty"`
	// LoadBalancerSourceRanges may reach the load-balancer IPs; others
	// are dropped. Empty: anyone.
	LoadBalancerSourceRanges []string `json:"loadBalancerSourceRanges"`
	// SessionAffinitySeconds is the ClientIP affinity timeout; 0: none.
	SessionAffinitySeconds int32 `json:"sessionAffinitySeconds"`
	// HealthCheckNodePort answers 200 when this node has local endpoints; 0: none.
	HealthCheckNodePort uint16 `json:"healthCheckNodePort"`
}

// Warning is a problem found in the Service's input.
type Warning struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Explain builds the Report of Service namespace/name from the model.
func Explain(in synth.Input, res synth.Result, namespace, name string) (*Report, error) {
	svc := findService(in.Services, namespace, name)
	if svc == nil {
		return nil, fmt.Errorf("service %s/%s not found in the input", namespace, name)
	}
	r := &Report{Namespace: namespace, Name: name, Type: string(svc.Spec.Type), Ports: []Port{}, Warnings: []Warning{}}
	if r.Type == "" {
		r.Type = string(corev1.ServiceTypeClusterIP)
	}
	if r.NotProgrammed = notProgrammed(svc); r.NotProgrammed != "" {
		return r, nil
	}
	for _, rs := range res.Rulesets() {
		for i := range rs.Services {
			sp := rs.Services[i]
			if sp.Name.Namespace == namespace && sp.Name.Name == name {
				r.Ports = append(r.Ports, port(rs, sp, svc))
			}
		}
	}
	for _, wn := range res.Warnings {
		if wn.Object == "Service "+namespace+"/"+name {
			r.Warnings = append(r.Warnings, Warning{Reason: wn.Reason, Message: wn.Message})
		}
	}
	return r, nil
}

func findService(all []*corev1.Service, namespace, name string) *corev1.Service {
	for _, s := range all {
		if s != nil && s.Namespace == namespace && s.Name == name {
			return s
		}
	}
	return nil
}

func notProgrammed(svc *corev1.Service) string {
	switch {
	case svc.Spec.Type == corev1.ServiceTypeExternalName:
		return "ExternalName Services are answered by DNS, not by the proxy"
	case svc.Spec.ClusterIP == corev1.ClusterIPNone:
		return "headless Service: clients reach the pods directly"
	case svc.Labels[synth.ProxyNameLabel] != "":
		return fmt.Sprintf("left to the proxy %q (label %s)", svc.Labels[synth.ProxyNameLabel], synth.ProxyNameLabel)
	}
	return ""
}

func port(rs *synth.Ruleset, sp *synth.ServicePort, svc *corev1.Service) Port {
	p := Port{
		Name: sp.Name.Port, Protocol: string(sp.Name.Protocol), Family: rs.Family.String(), Port: sp.Port,
		TargetPort:  targetPort(sp, svc),
		EntryPoints: entryPoints(rs, sp),
		Endpoints:   []Endpoint{},
		Flow:        flows(rs, sp),
		Policies:    policies(rs, sp),
	}
	for _, ep := range sp.AllEndpoints() {
		p.Endpoints = append(p.Endpoints, Endpoint{IP: ep.Addr.String(), Port: ep.Port, Local: ep.Local, Terminating: ep.Terminating})
	}
	return p
}

func entry(kind string, a netip.Addr, port uint16) EntryPoint {
	e := EntryPoint{Kind: kind, Port: port}
	if a.IsValid() {
		e.IP = a.String()
	}
	return e
}

// entryPoints lists the ClusterIP, then the node addresses with the
// nodePort (one entry without IP when no node address is known), then the
// load-balancer and external IPs.
func entryPoints(rs *synth.Ruleset, sp *synth.ServicePort) []EntryPoint {
	out := []EntryPoint{entry(KindClusterIP, sp.ClusterIP, sp.Port)}
	if sp.NodePort != 0 {
		if len(rs.NodePortAddrs) == 0 {
			out = append(out, entry(KindNodePort, netip.Addr{}, sp.NodePort))
		}
		for _, a := range rs.NodePortAddrs {
			out = append(out, entry(KindNodePort, a, sp.NodePort))
		}
	}
	for _, a := range sp.LoadBalancerIPs {
		out = append(out, entry(KindLoadBalancerIP, a, sp.Port))
	}
	for _, a := range sp.ExternalIPs {
		out = append(out, entry(KindExternalIP, a, sp.Port))
	}
	return out
}

// targetPort shows the Service's targetPort and, when named, the numbers the
// EndpointSlices resolved it to.
func targetPort(sp *synth.ServicePort, svc *corev1.Service) string {
	var spec string
	for _, p := range svc.Spec.Ports {
		if p.Name == sp.Name.Port && p.Port == int32(sp.Port) {
			spec = p.TargetPort.String()
		}
	}
	nums := map[uint16]bool{}
	for _, ep := range sp.AllEndpoints() {
		nums[ep.Port] = true
	}
	var list []string
	for n := range nums {
		list = append(list, fmt.Sprint(n))
	}
	slices.Sort(list)
	resolved := strings.Join(list, ",")
	switch {
	case spec == "" || spec == "0":
		return resolved
	case resolved == "" || resolved == spec:
		return spec
	}
	return fmt.Sprintf("%s (= %s)", spec, resolved)
}
