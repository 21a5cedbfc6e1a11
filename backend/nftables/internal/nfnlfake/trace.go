package nfnlfake

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// Packet is the first packet of a connection, as the tracer sends it
// through the fake kernel's tables.
type Packet struct {
	Src     netip.Addr
	Proto   uint8 // IPPROTO_TCP, ...
	Dst     netip.AddrPort
	InIface string // input interface; "" for none
}

// Verdict is how a packet's way through the hooks ends.
type Verdict string

const (
	Accept Verdict = "ACCEPT"
	Drop   Verdict = "DROP"
	Reject Verdict = "REJECT"
)

// Outcome is one way a packet can go: rules that pick at random (numgen)
// make several, one per value.
type Outcome struct {
	Verdict    Verdict
	DNAT       netip.AddrPort // the rewritten destination; zero if not rewritten
	Masquerade bool
	Path       []string // the chains evaluated, in order
}

// Trace sends p through the hooks of its family's tables as the kernel
// would for a connection's first packet, and returns every way it can
// go. A packet without input interface whose source is local is sent by
// the node itself (output, postrouting); any other comes in (prerouting,
// then input if its destination, rewritten or not, is local, else forward
// and postrouting). local says which addresses are the node's own (fib
// ... type local, and routing). Within a hook, base chains run by
// priority. Evaluation follows the kernel: registers, verdicts, jump,
// goto and return, verdict maps and maps (concatenations, intervals),
// numgen (every value), meta mark, l4proto and iifname, fib address
// type, ct status and state, dnat, masquerade, reject. Dynamic sets stay
// empty (a fresh client). An expression the tracer does not know is an
// error, never a guess.
func (k *Kernel) Trace(p Packet, local func(netip.Addr) bool) ([]Outcome, error) {
	fam := nfnl.IPv4
	if p.Dst.Addr().Is6() && !p.Dst.Addr().Is4In6() {
		fam = nfnl.IPv6
	}
	tr := &tracer{p: p, local: local, fam: fam}
	for _, t := range k.snapshot().tables {
		if t.family == fam {
			tr.tables = append(tr.tables, t)
		}
	}
	start := state{dst: netip.AddrPortFrom(p.Dst.Addr().Unmap(), p.Dst.Port())}
	if p.InIface == "" && local(p.Src.Unmap()) {
		return tr.hooks(start, unix.NF_INET_LOCAL_OUT, unix.NF_INET_POST_ROUTING)
	}
	outs, states, err := tr.hook(unix.NF_INET_PRE_ROUTING, []state{start})
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		var more []Outcome
		if local(s.dst.Addr()) {
			more, err = tr.hooks(s, unix.NF_INET_LOCAL_IN)
		} else {
			more, err = tr.hooks(s, unix.NF_INET_FORWARD, unix.NF_INET_POST_ROUTING)
		}
		if err != nil {
			return nil, err
		}
		outs = append(outs, more...)
	}
	return outs, nil
}

type tracer struct {
	p      Packet
	local  func(netip.Addr) bool
	fam    nfnl.Family
	tables []*table
}

// state is what evaluation changes: a value, copied when a numgen forks.
type state struct {
	regs [80]byte // the verdict, then the 16 32-bit data registers
	mark uint32
	dst  netip.AddrPort
	dnat bool
	masq bool
	path []string
}

// hooks runs s through hooks one after the other; what survives all of
// them is accepted.
func (tr *tracer) hooks(s state, hooks ...uint32) ([]Outcome, error) {
	states := []state{s}
	var outs []Outcome
	for _, h := range hooks {
		done, next, err := tr.hook(h, states)
		if err != nil {
			return nil, err
		}
		outs, states = append(outs, done...), next
	}
	for _, s := range states {
		outs = append(outs, s.outcome(Accept))
	}
	return outs, nil
}

func (s state) outcome(v Verdict) Outcome {
	o := Outcome{Verdict: v, Masquerade: s.masq, Path: s.path}
	if s.dnat {
		o.DNAT = s.dst
	}
	return o
}

// baseChains are the chains of hook h in every table, by priority.
func (tr *tracer) baseChains(h uint32) []*chain {
	var out []*chain
	for _, t := range tr.tables {
		for _, c := range t.chains {
			if c.decl.HasHook && c.decl.Hooknum == h {
				out = append(out, c)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b *chain) int { return cmp.Compare(a.decl.Priority, b.decl.Priority) })
	return out
}

// hook runs states through the base chains of h: done are the packets
// dropped or rejected there, next those that go on.
func (tr *tracer) hook(h uint32, states []state) (done []Outcome, next []state, err error) {
	for _, bc := range tr.baseChains(h) {
		var after []state
		for _, s := range states {
			ends, err := tr.run(tr.tableOf(bc), bc, 0, s, 0)
			if err != nil {
				return nil, nil, err
			}
			for _, e := range ends {
				switch {
				case e.v == vDrop, e.v == vReturn && bc.decl.Policy == nfDrop:
					done = append(done, e.s.outcome(Drop))
				case e.v == vReject:
					done = append(done, e.s.outcome(Reject))
				default:
					after = append(after, e.s)
				}
			}
		}
		states = after
	}
	return done, states, nil
}

func (tr *tracer) tableOf(c *chain) *table {
	for _, t := range tr.tables {
		if slices.Contains(t.chains, c) {
			return t
		}
	}
	return nil
}

// verdictKind is where evaluation goes after a rule.
type verdictKind int

const (
	vNext   verdictKind = iota // the rule did not match, or matched without a verdict
	vAccept                    // also what nat and masquerade end with
	vDrop
	vReject
	vJump
	vGoto
	vReturn
)

type branch struct {
	s     state
	v     verdictKind
	chain string // vJump, vGoto
}

// end is how a chain's evaluation ends: vReturn (the caller goes on) or
// a final verdict.
type end struct {
	s state
	v verdictKind
}

// run evaluates chain c of t from rule i on.
func (tr *tracer) run(t *table, c *chain, i int, s state, depth int) ([]end, error) {
	if depth > jumpStackSize {
		return nil, fmt.Errorf("chain %s: jumps nest deeper than %d", c.decl.Name, jumpStackSize)
	}
	if i == 0 {
		s.path = append(slices.Clip(s.path), c.decl.Name)
	}
	for ; i < len(c.rules); i++ {
		branches, err := tr.rule(t, c.rules[i], s)
		if err != nil {
			return nil, fmt.Errorf("chain %s rule %d: %w", c.decl.Name, i, err)
		}
		branches = mergeMisses(branches)
		if len(branches) == 1 && branches[0].v == vNext {
			s = branches[0].s
			continue
		}
		var ends []end
		for _, b := range branches {
			more, err := tr.follow(t, c, i, b, depth)
			if err != nil {
				return nil, err
			}
			ends = append(ends, more...)
		}
		return ends, nil
	}
	return []end{{s: s, v: vReturn}}, nil
}

// mergeMisses keeps one of the branches that did not match (vNext) and
// differ only in their registers, as numgen values that miss a map do:
// the next rule overwrites every register it reads, so they go on the
// same way, and without merging a chain of rules that draw again after a
// miss would fork once per value and rule.
func mergeMisses(branches []branch) []branch {
	out := branches[:0:0]
	var misses []state // the misses kept, usually one
	for _, b := range branches {
		if b.v == vNext {
			if slices.ContainsFunc(misses, func(s state) bool { return sameButRegisters(s, b.s) }) {
				continue
			}
			misses = append(misses, b.s)
		}
		out = append(out, b)
	}
	return out
}

func sameButRegisters(x, y state) bool {
	return x.mark == y.mark && x.dst == y.dst && x.dnat == y.dnat && x.masq == y.masq && slices.Equal(x.path, y.path)
}

// follow continues after rule i of c ended with branch b.
func (tr *tracer) follow(t *table, c *chain, i int, b branch, depth int) ([]end, error) {
	switch b.v {
	case vNext:
		return tr.run(t, c, i+1, b.s, depth)
	case vJump, vGoto:
		target := t.chain(b.chain)
		if target == nil {
			return nil, fmt.Errorf("chain %s: jump to missing chain %s", c.decl.Name, b.chain)
		}
		subs, err := tr.run(t, target, 0, b.s, depth+1)
		if err != nil || b.v == vGoto {
			return subs, err // a return from a goto target returns from c
		}
		var ends []end
		for _, sub := range subs {
			if sub.v != vReturn {
				ends = append(ends, sub)
				continue
			}
			more, err := tr.run(t, c, i+1, sub.s, depth)
			if err != nil {
				return nil, err
			}
			ends = append(ends, more...)
		}
		return ends, nil
	}
	return []end{{s: b.s, v: b.v}}, nil
}
