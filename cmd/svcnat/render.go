package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/explain"
	"github.com/svcnat/svcnat/synth"
)

func runRender(_ context.Context, e *env, args []string) error {
	var m modelFlags
	var b backendFlags
	fs := pflag.NewFlagSet("render", pflag.ContinueOnError)
	m.register(fs)
	b.register(fs, false)
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	_, res, err := m.load(e)
	if err != nil {
		return err
	}
	render, err := b.renderer()
	if err != nil {
		return err
	}
	out, err := render(res.Rulesets())
	if err != nil {
		return fmt.Errorf("render %s: %w", b.name, err)
	}
	_, err = e.stdout.Write(out)
	return err
}

func runTrace(_ context.Context, e *env, args []string) error {
	var m modelFlags
	var src, dst, proto string
	fs := pflag.NewFlagSet("trace", pflag.ContinueOnError)
	m.register(fs)
	fs.StringVar(&src, "src", "", "source IP of the packet")
	fs.StringVar(&dst, "dst", "", "destination IP:PORT of the packet")
	fs.StringVar(&proto, "proto", "tcp", "protocol: tcp, udp or sctp")
	if err := parseFlags(fs, e, args); err != nil {
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
	tr := res.Ruleset(synth.FamilyOf(pkt.Dst.Addr())).Trace(pkt)
	printTrace(e, pkt, tr)
	return nil
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

func printTrace(e *env, pkt synth.Packet, tr synth.Trace) {
	fmt.Fprintf(e.stdout, "packet: %s %s -> %s\n", pkt.Proto, pkt.Src, pkt.Dst)
	for i, step := range tr.Path {
		fmt.Fprintf(e.stdout, "  %d. %s\n", i+1, step)
	}
	fmt.Fprintf(e.stdout, "verdict: %s\n", tr.Verdict)
	if tr.Verdict != synth.VerdictDNAT {
		return
	}
	for _, ep := range tr.Endpoints {
		fmt.Fprintf(e.stdout, "  -> %s\n", ep)
	}
	masq := "no"
	switch {
	case tr.Masquerade:
		masq = "yes"
	case tr.Hairpin:
		masq = "only when the packet lands on its own source (hairpin)"
	}
	fmt.Fprintf(e.stdout, "masquerade: %s\n", masq)
}

func runExplain(_ context.Context, e *env, args []string) error {
	var m modelFlags
	fs := pflag.NewFlagSet("explain", pflag.ContinueOnError)
	m.register(fs)
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one Service: svcnat explain [NAMESPACE/]NAME -f FILE")
	}
	ns, name, ok := strings.Cut(fs.Arg(0), "/")
	if !ok {
		ns, name = "default", fs.Arg(0)
	}
	in, res, err := m.load(e)
	if err != nil {
		return err
	}
	return explain.Service(e.stdout, in, res, ns, name)
}
