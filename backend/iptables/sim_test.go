package iptables

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// sim evaluates the rendered nat table for one packet, the way netfilter
// would for the first packet of a connection. It understands exactly the
// vocabulary the renderer emits; an unknown option panics, so a renderer
// change cannot silently escape the tests. statistic rules branch (every
// endpoint is a possible outcome); recent --rcheck never matches (a fresh
// client).
type sim struct {
	chains map[string][]simRule
	local  func(netip.Addr) bool // addrtype --src-type LOCAL
}

type simRule struct {
	src, dst     netip.Prefix
	iif          string // "-i NAME"; a trailing "+" matches a prefix
	proto        string
	dportLo      int
	dportHi      int
	markNot      bool
	markV, markM uint32
	hasMark      bool
	srcLocal     bool
	statistic    bool
	rcheck       bool
	target       string
	setV, setM   uint32
	dnat         netip.AddrPort
}

type simPacket struct {
	src   netip.Addr
	proto string
	dst   netip.AddrPort
	iif   string // input interface, "" for the node's own packets
}

// simOutcome is one way the nat table can end for a packet.
type simOutcome struct {
	final bool // ACCEPT or DNAT ended the traversal
	mark  uint32
	dnat  netip.AddrPort
	rules int // rules evaluated on this path
}

func newSim(t table, local func(netip.Addr) bool) *sim {
	s := &sim{chains: map[string][]simRule{}, local: local}
	for chain, rules := range t {
		for _, line := range rules {
			s.chains[chain] = append(s.chains[chain], parseSimRule(line))
		}
	}
	return s
}

func parseSimRule(line string) simRule {
	f := splitArgs(line)[2:] // drop "-A CHAIN"
	var r simRule
	for i := 0; i < len(f); i++ {
		next := func() string { i++; return f[i] }
		switch f[i] {
		case "-s":
			r.src = netip.MustParsePrefix(next())
		case "-d":
			r.dst = netip.MustParsePrefix(next())
		case "-i":
			r.iif = next()
		case "-p":
			r.proto = next()
		case "--dport":
			lo, hi, _ := strings.Cut(next(), ":")
			r.dportLo, _ = strconv.Atoi(lo)
			r.dportHi = r.dportLo
			if hi != "" {
				r.dportHi, _ = strconv.Atoi(hi)
			}
		case "-m":
			next()
		case "--comment", "--mode", "--probability", "--seconds", "--name", "--mask", "--mode random":
			next()
		case "--rsource", "--reap", "--set", "--random-fully":
		case "--rcheck":
			r.rcheck = true
		case "--src-type":
			if next() != "LOCAL" {
				panic(line)
			}
			r.srcLocal = true
		case "!":
			r.markNot = true
		case "--mark":
			r.hasMark = true
			r.markV, r.markM = parseMark(next())
		case "-j":
			r.target = next()
		case "--set-xmark":
			r.setV, r.setM = parseMark(next())
		case "--to-destination":
			r.dnat = netip.MustParseAddrPort(next())
		case "--reject-with":
			next()
		default:
			panic(fmt.Sprintf("sim: unknown argument %q in %s", f[i], line))
		}
	}
	r.statistic = strings.Contains(line, "-m statistic")
	return r
}

func parseMark(s string) (uint32, uint32) {
	v, m, _ := strings.Cut(s, "/")
	pv, _ := strconv.ParseUint(v, 0, 32)
	pm, _ := strconv.ParseUint(m, 0, 32)
	return uint32(pv), uint32(pm)
}

// splitArgs splits a rule like iptables-restore does for our vocabulary:
// whitespace, with double-quoted strings kept whole.
func splitArgs(line string) []string {
	var out []string
	var cur strings.Builder
	quoted, has := false, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted, has = !quoted, true
		case c == ' ' && !quoted:
			if has {
				out = append(out, cur.String())
			}
			cur.Reset()
			has = false
		default:
			cur.WriteRune(c)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

func (r *simRule) matches(p simPacket, mark uint32, local bool) bool {
	switch {
	case r.src.IsValid() && !r.src.Contains(p.src),
		r.dst.IsValid() && !r.dst.Contains(p.dst.Addr()),
		r.iif != "" && !iifMatches(r.iif, p.iif),
		r.proto != "" && r.proto != p.proto,
		r.dportLo != 0 && (int(p.dst.Port()) < r.dportLo || int(p.dst.Port()) > r.dportHi),
		r.hasMark && (mark&r.markM == r.markV) == r.markNot,
		r.srcLocal && !local,
		r.rcheck:
		return false
	}
	return true
}

// iifMatches is iptables' "-i" test: "veth+" matches every name starting
// with "veth"; no name (a locally generated packet) matches nothing.
func iifMatches(pattern, iif string) bool {
	if iif == "" {
		return false
	}
	if prefix, ok := strings.CutSuffix(pattern, "+"); ok {
		return strings.HasPrefix(iif, prefix)
	}
	return pattern == iif
}

// run evaluates chain from rule i on; depth guards against loops.
func (s *sim) run(chain string, i int, p simPacket, o simOutcome, depth int) []simOutcome {
	if depth > 64 {
		panic("sim: jump depth > 64 at " + chain)
	}
	rules := s.chains[chain]
	for ; i < len(rules); i++ {
		r := &rules[i]
		o.rules++
		if !r.matches(p, o.mark, s.local(p.src)) {
			continue
		}
		var outs []simOutcome
		if r.statistic { // the branch where the rule does not match
			outs = s.run(chain, i+1, p, o, depth)
		}
		return append(outs, s.target(chain, i, r, p, o, depth)...)
	}
	return []simOutcome{o}
}

func (s *sim) target(chain string, i int, r *simRule, p simPacket, o simOutcome, depth int) []simOutcome {
	switch r.target {
	case "RETURN":
		return []simOutcome{o}
	case "ACCEPT":
		o.final = true
		return []simOutcome{o}
	case "DNAT":
		o.final, o.dnat = true, r.dnat
		return []simOutcome{o}
	case "MARK":
		o.mark = o.mark&^r.setM ^ r.setV
		return s.run(chain, i+1, p, o, depth)
	}
	if _, ok := s.chains[r.target]; !ok {
		panic("sim: jump to missing chain " + r.target)
	}
	var outs []simOutcome
	for _, sub := range s.run(r.target, 0, p, o, depth+1) {
		if sub.final {
			outs = append(outs, sub)
		} else {
			outs = append(outs, s.run(chain, i+1, p, sub, depth)...)
		}
	}
	return outs
}

// trace turns the outcomes of SVCNAT-SERVICES into a synth.Trace, so the
// scenario flow tables can check the rendered rules like the tracer.
func (s *sim) trace(p simPacket) synth.Trace {
	var tr synth.Trace
	outs := s.run(chainServices, 0, p, simOutcome{}, 0)
	masqAll, masqSome := true, false
	for _, o := range outs {
		switch o.mark & 0xc000 {
		case 0x8000:
			tr.Verdict = synth.VerdictDrop
			return tr
		case 0xc000:
			tr.Verdict = synth.VerdictReject
			return tr
		}
		if !o.dnat.IsValid() {
			continue
		}
		tr.Verdict = synth.VerdictDNAT
		tr.Endpoints = append(tr.Endpoints, o.dnat)
		masq := o.mark&0xc000 == 0x4000
		masqAll = masqAll && masq
		if masq && o.dnat.Addr() == p.src {
			tr.Hairpin = true
		} else if masq {
			masqSome = true
		}
	}
	if tr.Verdict == "" {
		tr.Verdict = synth.VerdictAccept
		return tr
	}
	slices.SortFunc(tr.Endpoints, netip.AddrPort.Compare)
	tr.Endpoints = slices.Compact(tr.Endpoints)
	tr.Masquerade = masqAll
	if masqAll {
		tr.Hairpin = false
	} else if masqSome {
		tr.Verdict = "SOME-ENDPOINTS-MASQUERADED"
	}
	return tr
}
