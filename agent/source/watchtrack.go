package source

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
)

// watchTracker is an informer's ListerWatcher that remembers since when
// its reflector's current watch has been open. After the API server
// answered "not ready" for long, it tells whether the watch lived through
// that (etcd restarting under a running API server: the watch cache and
// its watches go on, and a relist would only cost) or ended, in which case
// the reflector may be sleeping a backoff grown to seconds. client-go
// retries failed watches inside its own loop and reports none of them;
// but every watch it opens goes through here, and it stops every watch
// that ends (Reflector.watch, handleWatch).
type watchTracker struct {
	lw cache.ListerWatcherWithContext
	// inner is the wrapped ListerWatcher, asked whether it supports watch
	// lists (the informers' pagedLister says no).
	inner cache.ListerWatcher

	mu        sync.Mutex
	gen       uint64    // counts opened watches; a stale Stop changes nothing
	openSince time.Time // zero: no watch open
	// held, when set, makes new lists and watches wait until the set is
	// shut down (their ctx ends): see informerSet.hold.
	held bool
	free chan struct{} // closed to let held calls through; nil while not held
}

func newWatchTracker(lw cache.ListerWatcher) *watchTracker {
	return &watchTracker{lw: cache.ToListerWatcherWithContext(lw), inner: lw}
}

var (
	_ cache.ListerWatcher            = (*watchTracker)(nil)
	_ cache.ListerWatcherWithContext = (*watchTracker)(nil)
)

func (t *watchTracker) List(options metav1.ListOptions) (runtime.Object, error) {
	return t.ListWithContext(context.Background(), options)
}

func (t *watchTracker) ListWithContext(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
	if err := t.waitUnheld(ctx); err != nil {
		return nil, err
	}
	return t.lw.ListWithContext(ctx, options)
}

func (t *watchTracker) Watch(options metav1.ListOptions) (watch.Interface, error) {
	return t.WatchWithContext(context.Background(), options)
}

// WatchWithContext opens a watch and notes when; the watch's Stop (which
// the reflector calls when the watch ends, for whatever reason) clears it.
func (t *watchTracker) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	if err := t.waitUnheld(ctx); err != nil {
		return nil, err
	}
	w, err := t.lw.WatchWithContext(ctx, options)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	t.openSince = time.Now()
	return &trackedWatch{Interface: w, tracker: t, gen: t.gen}, nil
}

// IsWatchListSemanticsUnSupported passes on what the wrapped
// ListerWatcher says: the reflector asks it before streaming a list.
func (t *watchTracker) IsWatchListSemanticsUnSupported() bool {
	return watchlist.DoesClientNotSupportWatchListSemantics(t.inner)
}

// openSinceBefore reports whether a watch has been open since before t.
func (t *watchTracker) openSinceBefore(at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.openSince.IsZero() && t.openSince.Before(at)
}

// hold makes later lists and watches wait until release or their ctx
// ends; calls already made go on.
func (t *watchTracker) hold() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.held {
		t.held, t.free = true, make(chan struct{})
	}
}

// release lets held and later calls through.
func (t *watchTracker) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held {
		close(t.free)
		t.held, t.free = false, nil
	}
}

func (t *watchTracker) waitUnheld(ctx context.Context) error {
	t.mu.Lock()
	free := t.free
	t.mu.Unlock()
	if free == nil {
		return nil
	}
	select {
	case <-free:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *watchTracker) stopped(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.openSince = time.Time{}
	}
}

// trackedWatch is a watch whose Stop tells its tracker.
type trackedWatch struct {
	watch.Interface
	tracker *watchTracker
	gen     uint64
}

func (w *trackedWatch) Stop() {
	w.Interface.Stop()
	w.tracker.stopped(w.gen)
}
