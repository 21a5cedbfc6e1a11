package explain

import (
	"fmt"
	"io"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// Service writes the explanation of Service namespace/name to w, as text.
func Service(w io.Writer, in synth.Input, res synth.Result, namespace, name string) error {
	r, err := Explain(in, res, namespace, name)
	if err != nil {
		return err
	}
	return r.WriteText(w)
}

// WriteText writes the report as the indented text of `svcnat explain`.
func (r *Report) WriteText(w io.Writer) error {
	p := &printer{w: w}
	p.line("Service %s/%s, type %s", r.Namespace, r.Name, r.Type)
	if r.NotProgrammed != "" {
		p.line("  no rules: %s", r.NotProgrammed)
		return p.err
	}
	for i := range r.Ports {
		p.port(&r.Ports[i])
	}
	for _, wn := range r.Warnings {
		p.line("  warning: %s: %s", wn.Reason, wn.Message)
	}
	if len(r.Ports) == 0 {
		p.line("  no rules: no valid port (see warnings)")
	}
	return p.err
}

// printer writes lines and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintln(p.w, strings.TrimRight(fmt.Sprintf(format, args...), " "))
	}
}

func (p *printer) port(pt *Port) {
	label := pt.Protocol
	if pt.Name != "" {
		label = pt.Name + "/" + pt.Protocol
	}
	p.line("")
	p.line("port %s (%s): port %d -> targetPort %s", label, pt.Family, pt.Port, pt.TargetPort)
	p.line("  entry points:")
	for _, e := range pt.EntryPoints {
		p.line("    %-15s %s", entryLabel[e.Kind], e.address())
	}
	p.line("  endpoints (%d):", len(pt.Endpoints))
	if len(pt.Endpoints) == 0 {
		p.line("    none: traffic is rejected")
	}
	for _, ep := range pt.Endpoints {
		p.line("    %-22s %s", joinHostPort(ep.IP, ep.Port), ep.notes())
	}
	p.line("  flow:")
	for _, f := range pt.Flow {
		p.flow(f)
	}
	p.policies(&pt.Policies)
}

// entryLabel is how the text names each kind of entry point.
var entryLabel = map[string]string{
	KindClusterIP:      "ClusterIP",
	KindNodePort:       "NodePort",
	KindLoadBalancerIP: "LoadBalancer IP",
	KindExternalIP:     "external IP",
}

// flowLabel is how the flow lines name each kind of entry point.
var flowLabel = map[string]string{
	KindClusterIP:      "ClusterIP",
	KindNodePort:       "NodePort",
	KindLoadBalancerIP: "LoadBalancer",
	KindExternalIP:     "external IP",
}

func (e EntryPoint) address() string {
	if e.IP == "" {
		return fmt.Sprintf("<node-ip>:%d (no node address known)", e.Port)
	}
	return joinHostPort(e.IP, e.Port)
}

func joinHostPort(ip string, port uint16) string {
	if strings.Contains(ip, ":") {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func (ep Endpoint) notes() string {
	var notes []string
	if ep.Local {
		notes = append(notes, "on this node")
	}
	if ep.Terminating {
		notes = append(notes, "terminating (used because no endpoint is ready)")
	}
	return strings.Join(notes, ", ")
}

func (p *printer) flow(f Flow) {
	pods := "no endpoint"
	if len(f.Endpoints) > 0 {
		pods = "pod " + strings.Join(f.Endpoints, " | ")
	}
	if f.From == "pod" {
		p.line("    pod    -> %s (%s) -> %s", f.Entry.address(), flowLabel[f.Entry.Kind], pods)
		return
	}
	p.line("    client -> %s (%s) -> Service %s -> %s", f.Entry.address(), flowLabel[f.Entry.Kind], f.Service, pods)
}

func (p *printer) policies(pol *Policies) {
	p.line("  policies:")
	p.line("    internal traffic: %s", pol.Internal)
	if pol.External != "" {
		p.line("    external traffic: %s", pol.External)
	}
	if len(pol.LoadBalancerSourceRanges) > 0 {
		p.line("    loadBalancerSourceRanges: only %s may reach the load-balancer IPs; others are dropped", strings.Join(pol.LoadBalancerSourceRanges, ", "))
	}
	if pol.SessionAffinitySeconds > 0 {
		p.line("    sessionAffinity ClientIP: a client stays on its endpoint for %ds", pol.SessionAffinitySeconds)
	}
	if pol.HealthCheckNodePort != 0 {
		p.line("    health check: http://<node-ip>:%d/ answers 200 when this node has local endpoints", pol.HealthCheckNodePort)
	}
}
