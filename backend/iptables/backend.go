package iptables

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	goipt "github.com/coreos/go-iptables/iptables"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// Options configure the iptables backend.
type Options struct {
	backend.Options
	// Mode picks iptables-nft or iptables-legacy; auto (the default)
	// follows whichever already holds rules in the namespace.
	Mode Mode
	// RandomFully overrides the detection of MASQUERADE --random-fully.
	RandomFully *bool
}

// Backend programs Rulesets with iptables-restore. It is safe for
// concurrent use; calls are serialised.
type Backend struct {
	run     runner
	flavour flavour
	ipt     [2]*goipt.IPTables // per family, IPv4 first; feature detection only
	opt     RenderOptions

	mu sync.Mutex
	// applied is what the kernel held after the last successful Apply, per
	// family; valid only when known.
	applied [2]*rendered
	known   bool
	// written counts, per family and table, the rules the last successful
	// Apply wrote (kube-proxy's sync_proxy_rules_iptables_last).
	written [2]map[string]int
	// cache holds each family's per-ServicePort renderings (see
	// renderCache); it depends only on the Rulesets, not on the kernel.
	cache [2]*renderCache
}

var _ backend.Backend = (*Backend)(nil)

// New resolves the flavour and the host's features. It reads the
// namespace (for ModeAuto) but changes nothing.
func New(ctx context.Context, o Options) (*Backend, error) {
	mode, err := parseMode(o.Mode)
	if err != nil {
		return nil, err
	}
	b := &Backend{run: runner{netns: o.NetNS}, flavour: flavour(mode)}
	if mode == ModeAuto {
		if b.flavour, err = b.detectFlavour(ctx); err != nil {
			return nil, err
		}
	}
	for i, fam := range families {
		proto := goipt.ProtocolIPv4
		if fam == synth.IPv6 {
			proto = goipt.ProtocolIPv6
		}
		b.ipt[i], err = goipt.New(goipt.IPFamily(proto), goipt.Path(b.flavour.binary(fam, "")), goipt.Timeout(5))
		if err != nil {
			return nil, fmt.Errorf("iptables %s (%s): %w", fam, b.flavour, err)
		}
	}
	b.opt.RandomFully = b.ipt[0].HasRandomFully()
	if o.RandomFully != nil {
		b.opt.RandomFully = *o.RandomFully
	}
	return b, nil
}

// detectFlavour follows kube-proxy: the flavour with more rules wins,
// nft on a tie (the default of current distributions).
func (b *Backend) detectFlavour(ctx context.Context) (flavour, error) {
	count := func(f flavour) (int, error) {
		out, err := b.run.exec(ctx, nil, f.binary(synth.IPv4, "save"))
		if err != nil {
			return 0, fmt.Errorf("detect iptables mode: %w", err)
		}
		return strings.Count(string(out), "\n-A "), nil
	}
	legacy, err := count("legacy")
	if err != nil {
		return "", err
	}
	nft, err := count("nft")
	if err != nil {
		return "", err
	}
	if legacy > nft {
		return "legacy", nil
	}
	return "nft", nil
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return "iptables" }

// Flavour reports the resolved mode: "nft" or "legacy".
func (b *Backend) Flavour() Mode { return Mode(b.flavour) }

// Render implements backend.Backend.
func (b *Backend) Render(rs []*synth.Ruleset) ([]byte, error) { return Render(rs, b.opt) }

// Reconcile implements backend.Backend: the next Apply reads the kernel.
func (b *Backend) Reconcile() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known = false
}

// familyPlan is what one Apply does to one family.
type familyPlan struct {
	fam   synth.Family
	want  *rendered // nil: the family has nothing
	diffs map[string]tableDiff
}

// plan compares the wanted state with the cached or the kernel's state.
func (b *Backend) plan(ctx context.Context, rs []*synth.Ruleset) ([2]familyPlan, error) {
	var plans [2]familyPlan
	want, err := renderAllCached(rs, b.opt, &b.cache)
	if err != nil {
		return plans, err
	}
	for i, fam := range families {
		have := b.applied[i]
		if !b.known {
			if have, err = b.readKernel(ctx, fam); err != nil {
				return plans, fmt.Errorf("%s: %w", fam, err)
			}
		}
		p := familyPlan{fam: fam, want: want[i], diffs: map[string]tableDiff{}}
		w, h := orEmpty(want[i], fam), orEmpty(have, fam)
		for _, name := range tableNames {
			p.diffs[name] = diffTable(h.tables[name], w.tables[name], h.jumps[name], w.jumps[name])
		}
		plans[i] = p
	}
	return plans, nil
}

// orEmpty is r, or the empty state of fam when r is nil.
func orEmpty(r *rendered, fam synth.Family) *rendered {
	if r == nil {
		return newRendered(fam)
	}
	return r
}

// Apply implements backend.Backend.
func (b *Backend) Apply(ctx context.Context, rs []*synth.Ruleset) (backend.Stats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	start := time.Now()
	st := backend.Stats{Full: !b.known}
	plans, err := b.plan(ctx, rs)
	if err != nil {
		b.known = false
		return st, fmt.Errorf("plan iptables sync: %w", err)
	}
	for i, p := range plans {
		if b.known && b.applied[i] == nil && p.want == nil {
			continue // nothing before, nothing now
		}
		n, err := b.applyFamily(ctx, p)
		st.Changes += n
		b.written[i] = map[string]int{}
		for name, d := range p.diffs {
			b.written[i][name] = d.changes()
		}
		if err != nil {
			b.known = false // the kernel may hold anything now: read it next time
			return st, fmt.Errorf("apply %s: %w", p.fam, err)
		}
		b.applied[i] = p.want
		if p.want != nil {
			st.Rules += p.want.tables["nat"].ruleCount() + p.want.tables["filter"].ruleCount() + len(JumpRules())
		}
	}
	b.known = true
	st.Duration = time.Since(start)
	return st, nil
}

// applyFamily restores one table at a time; the jump rules in built-in
// chains are part of each table's restore (see tableDiff.script). A large
// change with iptables-nft takes several restores (see chunk.go).
func (b *Backend) applyFamily(ctx context.Context, p familyPlan) (int, error) {
	changes := 0
	for _, name := range tableNames {
		d := p.diffs[name]
		for _, s := range d.scripts(name, b.flavour) {
			if _, err := b.run.exec(ctx, strings.NewReader(s), b.flavour.binary(p.fam, "restore"), "--noflush", waitArg); err != nil {
				return changes, fmt.Errorf("restore %s table: %w", name, err)
			}
		}
		changes += d.changes()
	}
	return changes, nil
}

// Diff implements backend.Backend: the restore input Apply would send,
// per family and table, jump rules included.
func (b *Backend) Diff(ctx context.Context, rs []*synth.Ruleset) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	plans, err := b.plan(ctx, rs)
	if err != nil {
		return nil, fmt.Errorf("plan iptables sync: %w", err)
	}
	var s strings.Builder
	for _, p := range plans {
		for _, name := range tableNames {
			for _, script := range p.diffs[name].scripts(name, b.flavour) {
				fmt.Fprintf(&s, "# %s --noflush\n", p.fam)
				s.WriteString(script)
			}
		}
	}
	return []byte(s.String()), nil
}

// Cleanup implements backend.Backend: jump rules first, then every
// SVCNAT- chain the kernel holds, in both families.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known = false
	for i := range families {
		b.applied[i] = nil
	}
	plans, err := b.plan(ctx, nil)
	if err != nil {
		return fmt.Errorf("cleanup iptables: %w", err)
	}
	for _, p := range plans {
		if _, err := b.applyFamily(ctx, p); err != nil {
			return fmt.Errorf("cleanup iptables %s: %w", p.fam, err)
		}
	}
	return nil
}

// TableCounts calls fn with the rules svcnat holds in each family and
// table after the last successful Apply, jump rules included, and the
// rules that Apply wrote (the agent's status and kube-proxy's
// sync_proxy_rules_iptables_total / _last metrics).
func (b *Backend) TableCounts(fn func(fam synth.Family, table string, rules, elements, written int)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		return
	}
	for i, r := range b.applied {
		if r == nil {
			continue
		}
		for _, name := range tableNames {
			fn(r.family, name, r.tables[name].ruleCount()+len(r.jumps[name]), 0, b.written[i][name])
		}
	}
}
