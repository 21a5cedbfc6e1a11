package nfnlfake

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// reader reads one table of a snapshot: every answer comes from one
// ruleset, as nfnl.Reader promises.
type reader struct {
	t *table // nil: no such table
}

// Read implements nfnl.Kernel.
func (k *Kernel) Read(fam nfnl.Family, name string) (nfnl.Reader, error) {
	return &reader{t: k.snapshot().table(fam, name)}, nil
}

func (r *reader) Close() error { return nil }

// Table implements nfnl.Reader.
func (r *reader) Table() (*nfnl.Table, error) {
	if r.t == nil {
		return nil, nil
	}
	return &nfnl.Table{Flags: r.t.flags}, nil
}

// Chains implements nfnl.Reader, in creation order like the kernel's dump.
func (r *reader) Chains(kt *nfnl.Table) error {
	if r.t == nil {
		return nil
	}
	for _, c := range r.t.chains {
		d := c.decl
		kt.Chains = append(kt.Chains, &d)
	}
	return nil
}

// Sets implements nfnl.Reader.
func (r *reader) Sets(kt *nfnl.Table) error {
	if r.t == nil {
		return nil
	}
	for _, s := range r.t.sets {
		d := s.decl
		kt.Sets = append(kt.Sets, &d)
	}
	return nil
}

// Elems implements nfnl.Reader.
func (r *reader) Elems(ks *nfnl.Set) error {
	s := r.lookupSet(ks.Name)
	if s == nil {
		return fmt.Errorf("dump elements of %s: %w", ks.Name, unix.ENOENT)
	}
	ks.Elems = append(ks.Elems, s.elems...)
	return nil
}

// EachElem implements nfnl.Reader.
func (r *reader) EachElem(ks *nfnl.Set, fn func(nfnl.Elem)) error {
	s := r.lookupSet(ks.Name)
	if s == nil {
		return fmt.Errorf("dump elements of %s: %w", ks.Name, unix.ENOENT)
	}
	for _, e := range s.elems {
		fn(e)
	}
	return nil
}

// Rules implements nfnl.Reader: the expressions as the kernel dumps them.
func (r *reader) Rules(kc *nfnl.Chain, fn func(exprs, udata []byte)) error {
	c := r.lookupChain(kc.Name)
	if c == nil {
		return fmt.Errorf("dump rules of %s: %w", kc.Name, nfnl.ErrDumpInterrupted)
	}
	for _, rl := range c.rules {
		b, err := dumpExprs(r.t.family, rl.exprs)
		if err != nil {
			return fmt.Errorf("dump rules of %s: %w", kc.Name, err)
		}
		fn(b, rl.udata)
	}
	return nil
}

// CountRules implements nfnl.Reader.
func (r *reader) CountRules(kc *nfnl.Chain) (int, error) {
	c := r.lookupChain(kc.Name)
	if c == nil {
		return 0, fmt.Errorf("count rules of %s: %w", kc.Name, unix.ENOENT)
	}
	return len(c.rules), nil
}

// CountElems implements nfnl.Reader.
func (r *reader) CountElems(ks *nfnl.Set) (int, error) {
	s := r.lookupSet(ks.Name)
	if s == nil {
		return 0, fmt.Errorf("count elements of %s: %w", ks.Name, unix.ENOENT)
	}
	return len(s.elems), nil
}

func (r *reader) lookupChain(name string) *chain {
	if r.t == nil {
		return nil
	}
	return r.t.chain(name)
}

func (r *reader) lookupSet(name string) *set {
	if r.t == nil {
		return nil
	}
	return r.t.set(name)
}
