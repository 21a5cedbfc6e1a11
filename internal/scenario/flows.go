package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// Flow is one row of a packet-flow table: a packet and what must happen to it.
//
// Table syntax, one row per line, '#' starts a comment:
//
//	# src          proto  dst                   expect                            masq
//	192.168.1.10   tcp    192.168.1.100:30080   10.244.1.2:8080,10.244.1.3:8080   yes
//	10.244.1.2     tcp    10.96.0.10:80         10.244.1.2:8080                   hairpin
//	192.168.1.10   udp    10.96.0.10:81         REJECT                            -
//
// expect is DNAT targets (comma separated), REJECT, DROP or ACCEPT (no rule matched).
// masq is yes, no, hairpin (only the endpoint equal to the source is masqueraded) or -.
//
// An optional sixth column names the interface the packet comes in by on
// the node ("-": none, the node sends it itself), for Rulesets that tell
// pod traffic by interface; without it the packet has no input interface.
//
//	# src         proto  dst             expect           masq  iif
//	10.244.1.5    tcp    10.96.0.10:80   10.244.2.2:8080  no    cbr0
type Flow struct {
	Line  int
	Src   netip.Addr
	Proto synth.Protocol
	Dst   netip.AddrPort
	// InIface is the input interface ("" for none).
	InIface string
	Expect  Expect
}

// Packet is the packet the row sends, as the tracer takes it.
func (f Flow) Packet() synth.Packet {
	return synth.Packet{Src: f.Src, Proto: f.Proto, Dst: f.Dst, InIface: f.InIface}
}

// Expect is the outcome a flow must have.
type Expect struct {
	Verdict   synth.Verdict
	Endpoints []netip.AddrPort // sorted; only for DNAT
	Masq      string           // "yes", "no", "hairpin", "-"
}

func (f Flow) String() string {
	if f.InIface != "" {
		return fmt.Sprintf("%s %s %s iif %s", f.Src, f.Proto, f.Dst, f.InIface)
	}
	return fmt.Sprintf("%s %s %s", f.Src, f.Proto, f.Dst)
}

// ParseFlows parses a packet-flow table.
func ParseFlows(data []byte) ([]Flow, error) {
	var flows []Flow
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		f, err := parseFlow(fields)
		if err != nil {
			return nil, fmt.Errorf("flows.txt:%d: %w", n, err)
		}
		f.Line = n
		flows = append(flows, f)
	}
	return flows, sc.Err()
}

func parseFlow(fields []string) (Flow, error) {
	var f Flow
	if len(fields) != 5 && len(fields) != 6 {
		return f, fmt.Errorf("want 5 or 6 columns (src proto dst expect masq [iif]), got %d", len(fields))
	}
	if len(fields) == 6 && fields[5] != "-" {
		f.InIface = fields[5]
	}
	var err error
	if f.Src, err = netip.ParseAddr(fields[0]); err != nil {
		return f, err
	}
	f.Proto = synth.Protocol(fields[1])
	if f.Proto.Number() == 0 {
		return f, fmt.Errorf("unknown protocol %q", fields[1])
	}
	if f.Dst, err = netip.ParseAddrPort(fields[2]); err != nil {
		return f, err
	}
	if f.Expect, err = parseExpect(fields[3], fields[4]); err != nil {
		return f, err
	}
	return f, nil
}

func parseExpect(expect, masq string) (Expect, error) {
	e := Expect{Masq: masq}
	switch masq {
	case "yes", "no", "hairpin", "-":
	default:
		return e, fmt.Errorf("masq column must be yes, no, hairpin or -, got %q", masq)
	}
	switch v := synth.Verdict(expect); v {
	case synth.VerdictReject, synth.VerdictDrop, synth.VerdictAccept:
		e.Verdict = v
		return e, nil
	}
	e.Verdict = synth.VerdictDNAT
	for _, s := range strings.Split(expect, ",") {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return e, fmt.Errorf("expect: %w", err)
		}
		e.Endpoints = append(e.Endpoints, ap)
	}
	slices.SortFunc(e.Endpoints, netip.AddrPort.Compare)
	return e, nil
}

// CheckTrace compares a tracer result with a flow's expectation.
func CheckTrace(f Flow, tr synth.Trace) error {
	if tr.Verdict != f.Expect.Verdict {
		return fmt.Errorf("verdict %s, want %s", tr.Verdict, f.Expect.Verdict)
	}
	if tr.Verdict != synth.VerdictDNAT {
		return nil
	}
	if !slices.Equal(tr.Endpoints, f.Expect.Endpoints) {
		return fmt.Errorf("endpoints %v, want %v", tr.Endpoints, f.Expect.Endpoints)
	}
	if got := TraceMasq(tr); got != f.Expect.Masq {
		return fmt.Errorf("masquerade %s, want %s", got, f.Expect.Masq)
	}
	return nil
}

// TraceMasq renders a trace's masquerade decision in the table's words.
func TraceMasq(tr synth.Trace) string {
	switch {
	case tr.Masquerade:
		return "yes"
	case tr.Hairpin:
		return "hairpin"
	}
	return "no"
}
