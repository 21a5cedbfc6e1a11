package netns

import (
	"errors"
	"sync"
)

// Scratch is one empty network namespace, named
// svcnat-<6 random hex>-<role>, with only loopback (up) in it. Use it to
// load rules that need no traffic (nft -c, restore --test, listing what an
// applier programmed); use a Lab for packets. netnstest.Scratch is the
// version for tests, removed in t.Cleanup.
type Scratch struct {
	name, prefix string

	mu     sync.Mutex
	closed bool
	err    error
}

// NewScratch creates the namespace. The caller must Close it; on error
// nothing is left behind.
func NewScratch(role string) (*Scratch, error) {
	suffix, err := randomHex(3)
	if err != nil {
		return nil, err
	}
	s := &Scratch{prefix: "svcnat-" + suffix}
	s.name = s.prefix + "-" + role
	if !prefixRE.MatchString(s.name) {
		return nil, errors.New("netns: scratch role must be [A-Za-z0-9_.-]")
	}
	if err := claim(s.prefix); err != nil {
		return nil, err
	}
	if err := addNetns(s.name); err != nil {
		release(s.prefix)
		return nil, err
	}
	if err := runIP("", "-n", s.name, "link", "set", "lo", "up"); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Name is the namespace's name.
func (s *Scratch) Name() string { return s.name }

// Path is the namespace's path, /run/netns/NAME.
func (s *Scratch) Path() string { return nsPath(s.name) }

// Close deletes the namespace. It is idempotent.
func (s *Scratch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return s.err
	}
	s.closed = true
	s.err = delNetns(s.name)
	if s.err == nil {
		release(s.prefix)
	}
	return s.err
}
