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
	// applied is what the last successful Apply left in the kernel, per
	// family; valid only while known is true. Its fragments are reused by
	// the next Apply even when known is false: they depend only on input.
	applied map[synth.Family]*model
	// index tells which service port owns each map key of applied.
	index map[synth.Family]*elemIndex
	known bool
	// checkKernel is set by Reconcile: the next Apply must make sure the
	// kernel still holds applied, by the ruleset generation (gens) or by
	// reading the table back.
	checkKernel bool
	gens        *nfnl.GenWatch
	kernelReads int // tables read back from the kernel, for tests
	fromChanges int // models built from a change list (ApplyChanged), for tests
}

var (
	_ backend.Backend       = (*Backend)(nil)
	_ backend.ChangeApplier = (*Backend)(nil)
)

// New returns a Backend for the namespace in opts. It does not touch the
// kernel until Apply, Diff (which only reads) or Cleanup is called.
func New(opts backend.Options) (*Backend, error) {
	b := &Backend{applied: map[synth.Family]*model{}, index: map[synth.Family]*elemIndex{}}
	nsFd := 0
	if opts.NetNS != "" {
		f, err := os.Open(opts.NetNS)
		if err != nil {
			return nil, fmt.Errorf("open network namespace: %w", err)
		}
		b.netns, nsFd = f, int(f.Fd())
	}
	conn, err := nfnl.Dial(nsFd)
	if err != nil {
		b.Close()
		return nil, explain("nftables connection", err)
	}
	b.kernel, b.gens = conn, nfnl.NewGenWatch(conn)
	if b.batch, err = nfnl.NewBatch(); err != nil {
		b.Close()
		return nil, explain("nftables connection", err)
	}
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

// Reconcile implements backend.Backend: the next Apply verifies the kernel,
// cheaply when the ruleset generation shows no commit since svcnat's own,
// else by reading the tables back.
func (b *Backend) Reconcile() {
	b.mu.Lock()
	b.checkKernel = true
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

// transaction emits the changes for both families into e and returns the
// number of objects sent and, per family, whether only the changed ports
// were compared.
func (b *Backend) transaction(e emitter, next map[synth.Family]*model) (n int, fast map[synth.Family]bool) {
	fast = map[synth.Family]bool{}
	for _, f := range []synth.Family{synth.IPv4, synth.IPv6} {
		from := b.baseline(f, next[f])
		tx := plan(&from, next[f])
		n += tx.emit(e)
		fast[f] = tx.fast
	}
	return n, fast
}

// Apply implements backend.Backend: one netlink batch for both tables.
func (b *Backend) Apply(ctx context.Context, rs []*synth.Ruleset) (backend.Stats, error) {
	return b.ApplyChanged(ctx, rs, nil)
}

// ApplyChanged implements backend.ChangeApplier: Apply, comparing only the
// named service ports with the applied state while that state is known.
func (b *Backend) ApplyChanged(ctx context.Context, rs []*synth.Ruleset, changed *synth.Changes) (backend.Stats, error) {
	start := time.Now()
	if err := ctx.Err(); err != nil {
		return backend.Stats{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known || b.checkKernel {
		changed = nil // a full sync compares everything
	}
	next, err := b.byFamily(rs, changed)
	if err != nil {
		return backend.Stats{}, err
	}
	st := backend.Stats{Full: !b.known || b.checkKernel}
	if b.checkKernel {
		b.checkKernel = false
		if !b.gens.Unchanged() {
			b.known = false
		}
	}
	genBefore, genErr := b.gens.Current()
	e := newNLEmitter(b.batch)
	var fast map[synth.Family]bool
	st.Changes, fast = b.transaction(e, next)
	if e.err != nil {
		b.known = false
		b.gens.Forget()
		b.batch.Reset() // never send an incomplete batch
		return st, fmt.Errorf("encode nftables batch: %w", e.err)
	}
	sent := b.batch.Len() > 0
	if err := b.kernel.Send(b.batch); err != nil {
		b.known = false
		b.gens.Forget()
		return st, explain("apply nftables batch", err)
	}
	b.gens.Committed(genBefore, genErr, sent)
	b.commit(next, fast)
	for f, m := range next {
		if m != nil {
			r, el := b.tableSize(f)
			st.Rules += r
			st.Elements += el
		}
	}
	st.Duration = time.Since(start)
	return st, nil
}

// commit records next as the kernel's state and brings the map key index
// up to date: by the changed ports only after a fast-path sync.
func (b *Backend) commit(next map[synth.Family]*model, fast map[synth.Family]bool) {
	for f, m := range next {
		idx := b.index[f]
		switch {
		case m == nil:
			delete(b.index, f)
		case fast[f]:
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
	b.applied, b.known = next, true
}

// Diff implements backend.Backend: the nft commands Apply would send. When
// the kernel state is not known (first call, after Reconcile) the table is
// read back from the kernel first, so only real differences are printed.
func (b *Backend) Diff(ctx context.Context, rs []*synth.Ruleset) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next, err := b.byFamily(rs, nil)
	if err != nil {
		return nil, err
	}
	if b.checkKernel && !b.gens.Unchanged() {
		b.checkKernel, b.known = false, false
	}
	var w textEmitter
	b.transaction(&w, next)
	return []byte(w.b.String()), nil
}

// Cleanup implements backend.Backend: deletes both svcnat tables.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.known = false
	b.gens.Forget()
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
