package source

import (
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/svcnat/svcnat/synth"
)

// apiView is the APIServer source's Services and EndpointSlices as
// Snapshot returns them: proxied objects only, sorted by namespace and
// name. The informers' events keep it current one object at a time, so a
// Snapshot after an endpoint change costs no pass over the cluster (listing
// and sorting 10k Services and their slices took milliseconds per sync). It
// is built from the caches only when a new informer set starts serving.
type apiView struct {
	mu       sync.Mutex
	services sortedObjects[*corev1.Service]
	slices   sortedObjects[*cachedSlice]
	// compact is the last list of slices handed out, in synth's form; nil
	// after a change of slices.
	compact []*synth.EndpointSlice
}

// apply records an event of set's informer of kind, unless set does not
// serve (yet, or any more), and reports whether it was recorded. Holding
// the lock while checking set.live orders the event against serve: an
// event seen before the set serves is in the caches serve reads.
func (v *apiView) apply(set *informerSet, kind Kind, obj any, deleted bool) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !set.live.Load() {
		return false
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj, deleted = d.Obj, true
	}
	switch o := obj.(type) {
	case *corev1.Service:
		v.services.set(o, !deleted && proxied(o.Labels))
	case *cachedSlice:
		v.slices.set(o, !deleted && proxied(o.Labels))
		v.compact = nil
	}
	return true
}

// serve makes next the set whose events are recorded, in place of old (nil
// at the start), and fills the view from next's caches. An object whose
// UID and resourceVersion are those of the object it replaces keeps the
// old pointer: after a relist, synth.Builder then rebuilds only what
// changed, and the informers' new copies of unchanged objects can be freed.
func (v *apiView) serve(old, next *informerSet) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old != nil {
		old.live.Store(false)
	}
	next.live.Store(true)
	if svcs, err := next.listers.services.List(labels.Everything()); err == nil {
		v.services.replace(svcs)
	}
	v.slices.replace(next.listers.slices.list())
	v.compact = nil
}

// sameVersion returns the view's object of obj's kind, namespace and
// name when it has obj's UID and resourceVersion (see reuseViewed).
func (v *apiView) sameVersion(obj any) (any, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch o := obj.(type) {
	case *corev1.Service:
		if prev, ok := v.services.find(o); ok && sameObjectVersion(prev, o) {
			return prev, true
		}
	case *discoveryv1.EndpointSlice:
		if prev, ok := v.slices.find(o); ok && sameObjectVersion(prev, o) {
			return prev, true
		}
	}
	return nil, false
}

// lists returns the current lists; they must not be modified.
func (v *apiView) lists() ([]*corev1.Service, []*synth.EndpointSlice) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.compact == nil {
		v.compact = make([]*synth.EndpointSlice, len(v.slices.items))
		for i, c := range v.slices.items {
			v.compact[i] = c.slice()
		}
	}
	return v.services.list(), v.compact
}

// sortedObjects is a list of objects sorted by namespace and name, changed
// in place; list hands out a copy, made once per change (a handed-out list
// is shared with synth.Builder, which tells inputs apart by comparing them
// with the previous one, so it must never change).
type sortedObjects[T metav1.Object] struct {
	items []T
	out   []T // the last list handed out; nil after a change
}

// set puts o in place of the object of its name, or removes that object
// when keep is false.
func (s *sortedObjects[T]) set(o T, keep bool) {
	i, found := slices.BinarySearchFunc(s.items, o, compareObjects[T, T])
	if !found && !keep {
		return
	}
	s.out = nil
	switch {
	case !keep:
		s.items = slices.Delete(s.items, i, i+1)
	case found:
		s.items[i] = o
	default:
		s.items = slices.Insert(s.items, i, o)
	}
}

// replace makes the list the proxied objects of fresh, keeping the current
// object wherever fresh has the same version of it.
func (s *sortedObjects[T]) replace(fresh []T) {
	old := make(map[string]T, len(s.items))
	for _, o := range s.items {
		old[o.GetNamespace()+"/"+o.GetName()] = o
	}
	items := make([]T, 0, len(fresh))
	for _, o := range fresh {
		if !proxied(o.GetLabels()) {
			continue
		}
		if prev, ok := old[o.GetNamespace()+"/"+o.GetName()]; ok && sameObjectVersion(prev, o) {
			o = prev
		}
		items = append(items, o)
	}
	slices.SortFunc(items, compareObjects[T, T])
	s.items, s.out = items, nil
}

// find returns the object of o's namespace and name (o may be of another
// type: the API object of a cached one).
func (s *sortedObjects[T]) find(o metav1.Object) (T, bool) {
	i, found := slices.BinarySearchFunc(s.items, o, func(a T, b metav1.Object) int { return compareObjects(metav1.Object(a), b) })
	if !found {
		var none T
		return none, false
	}
	return s.items[i], true
}

func (s *sortedObjects[T]) list() []T {
	if s.out == nil {
		s.out = append(make([]T, 0, len(s.items)), s.items...)
	}
	return s.out
}

// sameObjectVersion: the same object (UID) at the same resourceVersion.
func sameObjectVersion(a, b metav1.Object) bool {
	return a.GetUID() == b.GetUID() && a.GetResourceVersion() != "" && a.GetResourceVersion() == b.GetResourceVersion()
}

// compareObjects gives the listers' map order a stable order, so equal
// states give equal inputs: by namespace, then name.
func compareObjects[T, U metav1.Object](a T, b U) int {
	if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
		return c
	}
	return strings.Compare(a.GetName(), b.GetName())
}
