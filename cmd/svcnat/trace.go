package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/synth"
)

func newTraceCmd(e *env) *cobra.Command {
	var m modelFlags
	var out outputFlag
	var src, dst, proto string
	cmd := &cobra.Command{
		Use:   "trace -f FILE... --src IP --dst IP:PORT [flags]",
		Short: "follow one packet through the rules",
		Long: `Trace follows the first packet of a connection from --src to --dst through
the rules svcnat builds for the manifest files, as docs/SEMANTICS.md describes
them: the decisions taken, the verdict (DNAT, REJECT, DROP, or ACCEPT when no
svcnat rule matches), the endpoints it may be sent to and whether its source
is masqueraded. Every backend programs exactly this behaviour.

-o json or -o yaml prints the same as a document (schema: docs/CLI.md), for
scripts and CI checks.`,
		Example: `  svcnat trace -f examples/my-app-service.yaml --node-ip 192.168.1.100 \
      --src 192.168.1.10 --dst 192.168.1.100:30080
  svcnat trace -f cluster.yaml --src 10.244.1.9 --dst 10.96.0.10:53 --proto udp -o json | jq -r .verdict`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	m.register(cmd.Flags())
	out.register(cmd)
	cmd.Flags().StringVar(&src, "src", "", "source `IP` of the packet (required)")
	cmd.Flags().StringVar(&dst, "dst", "", "destination `IP:PORT` of the packet, [IPv6]:PORT for IPv6 (required)")
	cmd.Flags().StringVar(&proto, "proto", "tcp", "`PROTOCOL`: tcp, udp or sctp")
	fixedValues(cmd, "proto", "tcp", "udp", "sctp")
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		pkt, err := parsePacket(src, dst, proto)
		if err != nil {
			return err
		}
		_, res, err := m.load(e)
		if err != nil {
			return err
		}
		fam := synth.FamilyOf(pkt.Dst.Addr())
		rs := res.Ruleset(fam)
		if rs == nil {
			rs = &synth.Ruleset{Family: fam} // nothing of this family: no rule matches
		}
		rep := newTraceReport(pkt, fam, rs.Trace(pkt))
		return out.write(e.stdout, rep, rep.writeText)
	})
	return cmd
}

func parsePacket(src, dst, proto string) (synth.Packet, error) {
	var p synth.Packet
	var err error
	if src == "" || dst == "" {
		return p, usagef("--src and --dst are required")
	}
	if p.Src, err = synth.ParseAddrSloppy(src); err != nil {
		return p, usagef("--src %q: %v", src, err)
	}
	if p.Dst, err = netip.ParseAddrPort(dst); err != nil {
		return p, usagef("--dst %q: want IP:PORT ([IPv6]:PORT): %v", dst, err)
	}
	p.Dst = netip.AddrPortFrom(p.Dst.Addr().Unmap(), p.Dst.Port())
	p.Proto = synth.Protocol(strings.ToLower(proto))
	if p.Proto.Number() == 0 {
		return p, usagef("--proto %q: want tcp, udp or sctp", proto)
	}
	return p, nil
}

// traceReport is the schema of `svcnat trace -o json` (docs/CLI.md).
type traceReport struct {
	Packet tracePacket `json:"packet"`
	Family string      `json:"family"` // the Ruleset traced: ipv4 or ipv6
	// Service is the service port the packet matched; null when none.
	Service *traceService `json:"service"`
	Steps   []string      `json:"steps"`
	Verdict string        `json:"verdict"` // DNAT, REJECT, DROP or ACCEPT
	// Endpoints are the possible DNAT targets ("IP:port"); empty unless DNAT.
	Endpoints []string `json:"endpoints"`
	// Masquerade: the source is rewritten to the node's address whichever
	// endpoint is chosen. Hairpin: only when the chosen endpoint is the
	// source itself.
	Masquerade bool `json:"masquerade"`
	Hairpin    bool `json:"hairpin"`
}

type tracePacket struct {
	Protocol    string `json:"protocol"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

type traceService struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Port      string `json:"port"` // the port's name; empty when unnamed
	Protocol  string `json:"protocol"`
}

func newTraceReport(pkt synth.Packet, fam synth.Family, tr synth.Trace) *traceReport {
	r := &traceReport{
		Packet:     tracePacket{Protocol: string(pkt.Proto), Source: pkt.Src.String(), Destination: pkt.Dst.String()},
		Family:     fam.String(),
		Steps:      append([]string{}, tr.Path...),
		Verdict:    string(tr.Verdict),
		Endpoints:  []string{},
		Masquerade: tr.Masquerade,
		Hairpin:    tr.Hairpin,
	}
	if s := tr.Service; s != nil {
		r.Service = &traceService{Namespace: s.Namespace, Name: s.Name, Port: s.Port, Protocol: string(s.Protocol)}
	}
	for _, ep := range tr.Endpoints {
		r.Endpoints = append(r.Endpoints, ep.String())
	}
	return r
}

func (r *traceReport) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "packet: %s %s -> %s\n", r.Packet.Protocol, r.Packet.Source, r.Packet.Destination)
	for i, step := range r.Steps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, step)
	}
	fmt.Fprintf(&b, "verdict: %s\n", r.Verdict)
	if r.Verdict == string(synth.VerdictDNAT) {
		for _, ep := range r.Endpoints {
			fmt.Fprintf(&b, "  -> %s\n", ep)
		}
		masq := "no"
		switch {
		case r.Masquerade:
			masq = "yes"
		case r.Hairpin:
			masq = "only when the packet lands on its own source (hairpin)"
		}
		fmt.Fprintf(&b, "masquerade: %s\n", masq)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
