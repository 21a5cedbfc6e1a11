package nftables

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// Backend programs svcnat's nftables tables in one network namespace.
type Backend struct {
	mu     sync.Mutex
	netns  *os.File    // nil: the caller's namespace
	kernel nfnl.Kernel // batches, reads, generation
	batch  *nfnl.Batch // the next transaction, reused
	// state says whether applied is what the kernel holds (see
	// backend.State); Reconcile is verified by the ruleset generation
	// (gens) or by reading the table back.
	state backend.State
	// applied is what the last successful Commit left in the kernel, per
	// family; valid only while state is known. Its fragments are reused by
	// the next Plan even when it is not: they depend only on input.
	applied map[synth.Family]*model
	// index tells which service port owns each map key of applied.
	index       map[synth.Family]*elemIndex
	gens        *nfnl.GenWatch
	kernelReads int // tables read back from the kernel, for tests
	fromChanges int // models built from a change list, for tests
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend for the namespace in opts. It does not touch the
// kernel until Plan (which only reads), Commit or Cleanup is called.
func New(opts backend.Options) (*Backend, error) {
	var netns *os.File
	nsFd := 0
	if opts.NetNS != "" {
		f, err := os.Open(opts.NetNS)
		if err != nil {
			return nil, fmt.Errorf("open network namespace: %w", err)
		}
		netns, nsFd = f, int(f.Fd())
	}
	conn, err := nfnl.Dial(nsFd)
	if err != nil {
		netns.Close() // a nil *os.File's Close only returns an error
		return nil, explain("nftables connection", err)
	}
	b, err := NewWithKernel(conn)
	if err != nil {
		netns.Close()
		return nil, err
	}
	b.netns = netns
	return b, nil
}

// Close releases the netlink socket and the namespace handle.
func (b *Backend) Close() error {
	var errs []error
	if b.kernel != nil {
		errs = append(errs, b.kernel.Close())
	}
	if b.netns != nil {
		errs = append(errs, b.netns.Close())
	}
	return errors.Join(errs...)
}

// Name implements backend.Backend.
func (b *Backend) Name() string { return "nftables" }

// Render implements backend.Backend.
func (b *Backend) Render(rs []*synth.Ruleset) ([]byte, error) { return Render(rs) }

// Reconcile implements backend.Backend: the next Plan verifies the kernel,
// cheaply when the ruleset generation shows no commit since svcnat's own,
// else by reading the tables back.
func (b *Backend) Reconcile() {
	b.mu.Lock()
	b.state.Reconcile()
	b.mu.Unlock()
}

// byFamily builds the model of each family, reusing the fragments of the
// applied models; a missing or nil Ruleset means no table for that family.
// With changed (not nil) only the named service ports are compared.
func (b *Backend) byFamily(rs []*synth.Ruleset, changed *synth.Changes) (map[synth.Family]*model, error) {
	out := map[synth.Family]*model{synth.IPv4: nil, synth.IPv6: nil}
	for _, r := range rs {
		if r == nil {
			continue
		}
		if out[r.Family] != nil {
			return nil, fmt.Errorf("two Rulesets for %s", r.Family)
		}
		var changes *changeList
		if changed != nil {
			changes = &changeList{ports: changed.Ports[r.Family], fields: changed.Fields}
		}
		m, fromList, err := buildModel(r, b.applied[r.Family], changes)
		if err != nil {
			return nil, err
		}
		if fromList {
			b.fromChanges++
		}
		out[r.Family] = m
	}
	return out, nil
}

// Plan implements backend.Backend: the transaction of each family's
// table, compared with the applied models while the kernel state is known
// and not in doubt, else with the tables read back from the kernel.
func (b *Backend) Plan(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes) (backend.Plan, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return backend.Plan{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	ticket := b.state.Ticket()
	if ticket.Full() {
		changed = nil // a full sync compares everything
	}
	next, err := b.byFamily(rs, changed)
	if err != nil {
		return backend.Plan{}, err
	}
	p := &plannedTables{next: next}
	useApplied := b.appliedIsKernel()
	for i, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		from := b.baseline(f, next[f], useApplied)
		p.txs[i] = plan(&from, next[f])
	}
	return backend.NewPlan(ticket, start, p), nil
}

// appliedIsKernel reports whether the applied models may stand for the
// kernel's tables: the state is known and, after Reconcile, no one has
// committed a transaction since svcnat's last one.
func (b *Backend) appliedIsKernel() bool {
	if !b.state.Known() {
		return false
	}
	return !b.state.ReconcileRequested() || b.gens.Unchanged()
}

// plannedTables is the nftables part of a backend.Plan: the transaction of
// each family and the models they lead to (referenced, not copied).
type plannedTables struct {
	next map[synth.Family]*model
	txs  [2]transaction // IPv4, IPv6
}

// emit sends both transactions to e and returns the number of objects.
func (p *plannedTables) emit(e emitter) int {
	n := 0
	for i := range p.txs {
		n += p.txs[i].emit(e)
	}
	return n
}

// String is the nft commands Commit sends.
func (p *plannedTables) String() string {
	var w textEmitter
	p.emit(&w)
	return w.b.String()
}

// Empty reports whether the transactions send nothing.
func (p *plannedTables) Empty() bool {
	for i := range p.txs {
		if !p.txs[i].empty() {
			return false
		}
	}
	return true
}

// fast tells whether family f's delta compared only changed ports.
func (p *plannedTables) fast(f synth.Family) bool {
	for i := range p.txs {
		if p.txs[i].family == f {
			return p.txs[i].fast
		}
	}
	return false
}

// Commit implements backend.Backend: one netlink batch for both tables.
func (b *Backend) Commit(ctx context.Context, bp backend.Plan) (backend.Stats, error) {
	if err := ctx.Err(); err != nil {
		return backend.Stats{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := bp.Detail().(*plannedTables)
	if err := b.state.Check(bp.Ticket()); err != nil || !ok {
		return backend.Stats{}, backend.ErrStalePlan
	}
	st := backend.Stats{Full: bp.Full()}
	genBefore, genErr := b.gens.Current()
	e := newNLEmitter(b.batch)
	st.Changes = p.emit(e)
	if e.err != nil {
		b.failed()
		b.batch.Reset() // never send an incomplete batch
		return st, fmt.Errorf("encode nftables batch: %w", e.err)
	}
	sent := b.batch.Len() > 0
	if err := b.kernel.Send(b.batch); err != nil {
		b.failed()
		return st, explain("apply nftables batch", err)
	}
	b.gens.Committed(genBefore, genErr, sent)
	b.commit(p)
	st.Rules, st.Elements = b.totals()
	st.Duration = time.Since(bp.Started())
	return st, nil
}

// failed records that the kernel may hold anything after a failed batch.
func (b *Backend) failed() {
	b.state.Failed()
	b.gens.Forget()
}

// totals counts the rules and elements of the applied tables.
func (b *Backend) totals() (rules, elems int) {
	for f, m := range b.applied {
		if m != nil {
			r, el := b.tableSize(f)
			rules += r
			elems += el
		}
	}
	return rules, elems
}

// commit records p's models as the kernel's state and brings the map key
// index up to date: by the changed ports only after a fast-path sync.
func (b *Backend) commit(p *plannedTables) {
	for f, m := range p.next {
		idx := b.index[f]
		switch {
		case m == nil:
			delete(b.index, f)
		case p.fast(f):
			for i := range m.changes { // fastDelta used them
				idx.change(&m.changes[i])
			}
		default:
			b.index[f] = newElemIndex(m)
		}
		if m != nil {
			m.changes, m.changesFrom = nil, nil
		}
	}
	b.applied = p.next
	b.state.Committed()
}

// Cleanup implements backend.Backend: deletes both svcnat tables.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed() // whatever happens, the next Plan reads the kernel
	e := newNLEmitter(b.batch)
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		t := &table{family: f}
		e.addTable(t)
		e.delTable(t)
	}
	if err := b.kernel.Send(b.batch); err != nil {
		return explain("delete svcnat tables", err)
	}
	b.applied = map[synth.Family]*model{}
	b.index = map[synth.Family]*elemIndex{}
	return nil
}

// explain wraps kernel errors with the likely cause.
func explain(what string, err error) error {
	switch {
	case errors.Is(err, syscall.EPERM), errors.Is(err, os.ErrPermission):
		return fmt.Errorf("%s: %w (CAP_NET_ADMIN in the target network namespace is required)", what, err)
	case errors.Is(err, syscall.EPROTONOSUPPORT), errors.Is(err, syscall.EAFNOSUPPORT):
		return fmt.Errorf("%s: %w (is the nf_tables kernel module available?)", what, err)
	case errors.Is(err, syscall.ENOBUFS):
		return fmt.Errorf("%s: %w (netlink acks lost; the batch may have been applied, state will be re-read)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
