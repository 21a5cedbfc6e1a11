package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/utils/clock"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

// DefaultPollInterval keeps edits visible well within a second.
const DefaultPollInterval = 200 * time.Millisecond

// SettleTime is how long a file written in place must stay unchanged
// before its new content is taken (doc.go): long enough for a writer's
// pauses between writes, short enough for an edit to show within a second.
const SettleTime = 500 * time.Millisecond

// Dir is a Source reading the manifest files of a directory (see
// manifest.Files for which files count).
type Dir struct {
	dir      string
	interval time.Duration
	clock    clock.WithTicker
	// watch enables inotify wake-ups; tests that drive time with synctest
	// turn it off (a goroutine blocked on a real file is never "durably
	// blocked", so the bubble would not settle).
	watch bool

	synced chan struct{}
	files  map[string]*dirFile // only Run's goroutine touches files and merger
	merger *merger             // nil before the first merge
	mu     sync.Mutex
	merged synth.Input
}

// dirFile is what is known about one file.
type dirFile struct {
	sig fileSig     // of the version last taken (or reported as unusable)
	in  synth.Input // last good content; zero if it never parsed
	// pending is a newer version, seen since pendingSince, that is not
	// taken until it has settled.
	pending      fileSig
	pendingSince time.Time
}

// fileSig changes when a file is rewritten, replaced or touched.
type fileSig struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// NewDir returns a source for dir. It rescans on inotify events and, as a
// safety net, every interval (0 means DefaultPollInterval) using clk (nil
// means the real clock).
func NewDir(dir string, interval time.Duration, clk clock.WithTicker) *Dir {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if clk == nil {
		clk = clock.RealClock{}
	}
	return &Dir{dir: dir, interval: interval, clock: clk, watch: true, synced: make(chan struct{}), files: map[string]*dirFile{}}
}

// Synced is closed after the first scan.
func (d *Dir) Synced() <-chan struct{} { return d.synced }

// Snapshot returns the merged content of every file's last good version.
func (d *Dir) Snapshot() State {
	d.mu.Lock()
	defer d.mu.Unlock()
	return State{Input: d.merged}
}

// Run scans the directory until ctx is done. It fails only when the first
// scan cannot list the directory; later listing errors are reported to h
// and the last state is kept.
func (d *Dir) Run(ctx context.Context, h Handler) error {
	if _, err := manifest.Files(d.dir); err != nil {
		return fmt.Errorf("manifest directory: %w", err)
	}
	var wake <-chan struct{}
	var w *dirWatch
	if d.watch {
		var err error
		if w, err = watchDir(d.dir); err != nil {
			h.InputError(fmt.Errorf("%w; edits are picked up by polling every %s", err, d.interval))
		} else {
			defer w.stop()
			wake = w.wake
		}
	}
	d.scan(h, nil, true)
	close(d.synced)
	t := d.clock.NewTicker(d.interval)
	defer t.Stop()
	var settle <-chan time.Time // armed while a version waits to settle
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
		case <-wake: // nil without inotify: never ready
		case <-settle:
			settle = nil
		}
		d.scan(h, w.takeRenamed(), false)
		if settle == nil && d.pending() {
			settle = d.clock.After(SettleTime)
		}
	}
}

// pending reports whether some file has a version waiting to settle.
func (d *Dir) pending() bool {
	for _, f := range d.files {
		if f.pending != (fileSig{}) {
			return true
		}
	}
	return false
}

// scan picks up new, changed and removed files. renamed names the files
// renamed into place since the last scan; on the first scan every file is
// taken as it is.
func (d *Dir) scan(h Handler, renamed map[string]bool, first bool) {
	paths, err := manifest.Files(d.dir)
	if err != nil {
		h.InputError(err)
		return
	}
	var changed []Kind
	var changedFiles []string
	for path := range d.files {
		if !slices.Contains(paths, path) {
			if kinds := kindsOf(d.files[path].in, synth.Input{}); len(kinds) > 0 {
				changed, changedFiles = append(changed, kinds...), append(changedFiles, path)
			}
			delete(d.files, path)
		}
	}
	for _, path := range paths {
		// A ConfigMap volume swaps its ..data link: every file changes
		// at once, complete.
		atomic := first || renamed[filepath.Base(path)] || renamed["..data"]
		if kinds := d.update(path, h, atomic); len(kinds) > 0 {
			changed, changedFiles = append(changed, kinds...), append(changedFiles, path)
		}
	}
	if len(changed) == 0 {
		return
	}
	d.merge(h, changedFiles)
	slices.Sort(changed)
	for _, k := range slices.Compact(changed) {
		h.Changed(k)
	}
}

// update re-reads path if its signature changed and the new version is
// complete (atomic: it was renamed into place) or has settled, and returns
// what changed.
func (d *Dir) update(path string, h Handler, atomic bool) []Kind {
	f := d.files[path]
	if f == nil {
		f = &dirFile{}
		d.files[path] = f
	}
	sig, err := stat(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) { // removed between listing and stat: next scan
			h.InputError(err)
		}
		return nil
	}
	if sig == f.sig {
		f.pending = fileSig{}
		return nil
	}
	if !atomic && !d.settled(f, sig) {
		return nil
	}
	f.sig, f.pending = sig, fileSig{}
	l := manifest.Loader{}
	in, err := l.Load(path)
	if err != nil {
		// Keep the last good content; the error is reported once per version.
		h.InputError(err)
		return nil
	}
	for _, err := range l.Errors {
		h.InputError(err) // the object is skipped, the others are taken
	}
	if len(l.Errors) > 0 && len(in.Services)+len(in.EndpointSlices)+len(in.Nodes) == 0 {
		return nil // nothing usable: keep the last good content
	}
	kinds := kindsOf(f.in, in)
	f.in = in
	return kinds
}

// settled reports whether version sig of f has stayed unchanged for
// SettleTime, starting the count when it is new.
func (d *Dir) settled(f *dirFile, sig fileSig) bool {
	now := d.clock.Now()
	if sig != f.pending {
		f.pending, f.pendingSince = sig, now
		return false
	}
	return now.Sub(f.pendingSince) >= SettleTime
}

func stat(path string) (fileSig, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileSig{}, fmt.Errorf("stat manifest: %w", err)
	}
	sig := fileSig{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		sig.ino = st.Ino
	}
	return sig, nil
}

// kindsOf compares a file's old and new content, so that touching a file or
// rewriting it unchanged causes no sync.
func kindsOf(old, new synth.Input) []Kind {
	var kinds []Kind
	if !equality.Semantic.DeepEqual(old.Services, new.Services) {
		kinds = append(kinds, Service)
	}
	if !equality.Semantic.DeepEqual(old.EndpointSlices, new.EndpointSlices) {
		kinds = append(kinds, EndpointSlice)
	}
	if !equality.Semantic.DeepEqual(old.Nodes, new.Nodes) {
		kinds = append(kinds, Node)
	}
	return kinds
}

// merge updates the merged state with the new content of the changed
// files (a removed file has none). An object defined in two files is taken
// from the first in name order and reported; while there is such an
// object, or when a change makes one, every file is merged again.
func (d *Dir) merge(h Handler, changed []string) {
	if !d.mergeChanged(changed) {
		files := make(map[string]synth.Input, len(d.files))
		for p, f := range d.files {
			files[p] = f.in
		}
		var errs []error
		d.merger, errs = mergeAll(files)
		for _, err := range errs {
			h.InputError(err)
		}
	}
	u := d.merger.union()
	d.mu.Lock()
	d.merged = u
	d.mu.Unlock()
}

// mergeChanged merges the changed files alone; false when it cannot.
func (d *Dir) mergeChanged(changed []string) bool {
	if d.merger == nil {
		return false
	}
	for _, p := range changed {
		var in synth.Input
		if f := d.files[p]; f != nil {
			in = f.in
		}
		if !d.merger.update(p, in) {
			return false
		}
	}
	return true
}
