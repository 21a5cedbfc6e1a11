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
	// state says whether applied is what the kernel holds (backend.State).
	state backend.State
	// applied is what the kernel held after the last successful Commit,
	// per family; valid only while state is known.
	applied [2]*rendered
	// written counts, per family and table, the rules the last successful
	// Commit wrote (kube-proxy's sync_proxy_rules_iptables_last).
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

// Close implements backend.Backend: the backend holds nothing between
// calls (each restore is its own process).
func (b *Backend) Close() error { return nil }

// Reconcile implements backend.Backend: the next Plan reads the kernel.
func (b *Backend) Reconcile() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Reconcile()
}

// familyPlan is what one Commit does to one family.
type familyPlan struct {
	fam   synth.Family
	want  *rendered // nil: the family has nothing
	diffs map[string]tableDiff
	// skip: nothing before, nothing now (known state), so no restore at all.
	skip bool
}

// plan compares the wanted state with the cached state, or with the
// kernel's when full.
func (b *Backend) plan(ctx context.Context, rs []*synth.Ruleset, full bool) ([2]familyPlan, error) {
	var plans [2]familyPlan
	want, err := renderAllCached(rs, b.opt, &b.cache)
	if err != nil {
		return plans, err
	}
	for i, fam := range families {
		have := b.applied[i]
		if full {
			if have, err = b.readKernel(ctx, fam); err != nil {
				return plans, fmt.Errorf("%s: %w", fam, err)
			}
		}
		p := familyPlan{fam: fam, want: want[i], diffs: map[string]tableDiff{}, skip: !full && have == nil && want[i] == nil}
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

// Plan implements backend.Backend: the restore input of each family and
// table. The renderings are cached per service port, so changed is not
// needed to keep an incremental sync cheap.
func (b *Backend) Plan(ctx context.Context, rs []*synth.Ruleset, _ *synth.Changes) (backend.Plan, error) {
	start := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	ticket := b.state.Ticket()
	plans, err := b.plan(ctx, rs, ticket.Full())
	if err != nil {
		return backend.Plan{}, fmt.Errorf("plan iptables sync: %w", err)
	}
	return backend.NewPlan(ticket, start, &plannedFamilies{fams: plans, flavour: b.flavour}), nil
}

// plannedFamilies is the iptables part of a backend.Plan.
type plannedFamilies struct {
	fams    [2]familyPlan
	flavour flavour
}

// String is the restore input Commit sends, per family and table, jump
// rules included.
func (p *plannedFamilies) String() string {
	var s strings.Builder
	for _, fp := range p.fams {
		for _, name := range tableNames {
			for _, script := range fp.diffs[name].scripts(name, p.flavour) {
				fmt.Fprintf(&s, "# %s --noflush\n", fp.fam)
				s.WriteString(script)
			}
		}
	}
	return s.String()
}

// Empty reports whether no table differs.
func (p *plannedFamilies) Empty() bool {
	for _, fp := range p.fams {
		for _, name := range tableNames {
			if !fp.skip && !fp.diffs[name].empty() {
				return false
			}
		}
	}
	return true
}

// Commit implements backend.Backend: one iptables-restore per table (more
// for a large change with iptables-nft).
func (b *Backend) Commit(ctx context.Context, bp backend.Plan) (backend.Stats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := bp.Detail().(*plannedFamilies)
	if err := b.state.Check(bp.Ticket()); err != nil || !ok {
		return backend.Stats{}, backend.ErrStalePlan
	}
	st := backend.Stats{Full: bp.Full()}
	for i, fp := range p.fams {
		if fp.skip {
			continue
		}
		n, err := b.applyFamily(ctx, fp)
		st.Changes += n
		b.written[i] = map[string]int{}
		for name, d := range fp.diffs {
			b.written[i][name] = d.changes()
		}
		if err != nil {
			b.state.Failed() // the kernel may hold anything now: read it next time
			return st, fmt.Errorf("apply %s: %w", fp.fam, err)
		}
		b.applied[i] = fp.want
		if fp.want != nil {
			st.Rules += fp.want.tables["nat"].ruleCount() + fp.want.tables["filter"].ruleCount() + len(JumpRules())
		}
	}
	b.state.Committed()
	st.Duration = time.Since(bp.Started())
	return st, nil
}

// applyFamily restores one table at a time; the jump rules in built-in
// chains are part of each table's restore (see tableDiff.script). A large
// change with iptables-nft takes several restores (see chunk.go).
func (b *Backend) applyFamily(ctx context.Context, p familyPlan) (int, error) {
	changes := 0
	for _, name := range tableNames {
		d := p.diffs[name]
		for _, stage := range d.stages(name, b.flavour) {
			if err := b.restoreStage(ctx, p.fam, stage); err != nil {
				return changes, fmt.Errorf("restore %s table: %w", name, err)
			}
		}
		changes += d.changes()
	}
	return changes, nil
}

// restoreStage runs the independent restores of one stage, up to
// restoreWorkers at a time; after a failure no further one starts, and
// the first error is returned.
func (b *Backend) restoreStage(ctx context.Context, fam synth.Family, scripts []string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	slots := make(chan struct{}, restoreWorkers)
	for _, s := range scripts {
		slots <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if _, err := b.run.exec(ctx, strings.NewReader(s), b.flavour.binary(fam, "restore"), "--noflush", waitArg); err != nil {
				cancel(err) // the first cause is kept
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// Cleanup implements backend.Backend: jump rules first, then every
// SVCNAT- chain the kernel holds, in both families.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state.Failed() // whatever happens, the next Plan reads the kernel
	for i := range families {
		b.applied[i] = nil
	}
	plans, err := b.plan(ctx, nil, true)
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
// table after the last successful Commit, jump rules included, and the
// rules that Commit wrote (the agent's status and kube-proxy's
// sync_proxy_rules_iptables_total / _last metrics).
func (b *Backend) TableCounts(fn func(fam synth.Family, table string, rules, elements, written int)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.state.Known() {
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
