package explain

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/synth"
)

// Service writes the explanation of Service namespace/name to w.
func Service(w io.Writer, in synth.Input, res synth.Result, namespace, name string) error {
	svc := findService(in.Services, namespace, name)
	if svc == nil {
		return fmt.Errorf("service %s/%s not found in the input", namespace, name)
	}
	typ := svc.Spec.Type
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	fmt.Fprintf(w, "Service %s/%s, type %s\n", namespace, name, typ)
	if reason := notProgrammed(svc); reason != "" {
		fmt.Fprintf(w, "  no rules: %s\n", reason)
		return nil
	}
	found := false
	for _, rs := range res.Rulesets() {
		for i := range rs.Services {
			sp := &rs.Services[i]
			if sp.Name.Namespace == namespace && sp.Name.Name == name {
				found = true
				port(w, rs, sp, svc)
			}
		}
	}
	for _, wn := range res.Warnings {
		if wn.Object == "Service "+namespace+"/"+name {
			fmt.Fprintf(w, "  warning: %s: %s\n", wn.Reason, wn.Message)
		}
	}
	if !found {
		fmt.Fprintln(w, "  no rules: no valid port (see warnings)")
	}
	return nil
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

func port(w io.Writer, rs *synth.Ruleset, sp *synth.ServicePort, svc *corev1.Service) {
	fmt.Fprintf(w, "\nport %s (%s): port %d -> targetPort %s\n", portLabel(sp), rs.Family, sp.Port, targetPort(sp, svc))
	fmt.Fprintln(w, "  entry points:")
	fmt.Fprintf(w, "    ClusterIP       %s\n", netip.AddrPortFrom(sp.ClusterIP, sp.Port))
	if sp.NodePort != 0 {
		if len(rs.NodePortAddrs) == 0 {
			fmt.Fprintf(w, "    NodePort        <node-ip>:%d (no node address known)\n", sp.NodePort)
		}
		for _, a := range rs.NodePortAddrs {
			fmt.Fprintf(w, "    NodePort        %s\n", netip.AddrPortFrom(a, sp.NodePort))
		}
	}
	for _, a := range sp.LoadBalancerIPs {
		fmt.Fprintf(w, "    LoadBalancer IP %s\n", netip.AddrPortFrom(a, sp.Port))
	}
	for _, a := range sp.ExternalIPs {
		fmt.Fprintf(w, "    external IP     %s\n", netip.AddrPortFrom(a, sp.Port))
	}
	endpoints(w, sp)
	flows(w, rs, sp)
	policies(w, rs, sp)
}

func portLabel(sp *synth.ServicePort) string {
	if sp.Name.Port == "" {
		return string(sp.Name.Protocol)
	}
	return sp.Name.Port + "/" + string(sp.Name.Protocol)
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

func endpoints(w io.Writer, sp *synth.ServicePort) {
	all := sp.AllEndpoints()
	fmt.Fprintf(w, "  endpoints (%d):\n", len(all))
	if len(all) == 0 {
		fmt.Fprintln(w, "    none: traffic is rejected")
	}
	for _, ep := range all {
		var notes []string
		if ep.Local {
			notes = append(notes, "on this node")
		}
		if ep.Terminating {
			notes = append(notes, "terminating (used because no endpoint is ready)")
		}
		fmt.Fprintf(w, "    %-22s %s\n", ep.AddrPort(), strings.Join(notes, ", "))
	}
}
