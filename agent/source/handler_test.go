package source

import (
	"slices"
	"sync"
)

// recorder is a Handler that remembers what it was told.
type recorder struct {
	mu      sync.Mutex
	changed []Kind
	errs    []error
}

func (r *recorder) Changed(k Kind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changed = append(r.changed, k)
}

func (r *recorder) InputError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

// take returns and forgets what was recorded.
func (r *recorder) take() ([]Kind, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, e := r.changed, r.errs
	r.changed, r.errs = nil, nil
	slices.Sort(k)
	return k, e
}
