package source

import (
	"fmt"
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/synth"
)

// merger unions the content of several files, keeping the first
// definition (in file name order) of each object. It remembers which file
// each object came from, so that a change of one file is merged by
// looking at that file's objects only: at 10k Services in one folder, an
// edit of a small file must not cost a pass over every object.
type merger struct {
	owner map[string]string      // "kind ns/name" -> the file it is taken from
	taken map[string]synth.Input // file -> its objects in the union
	// contested: some object is defined twice. Which definition wins then
	// depends on every file, so every change merges everything again.
	contested bool
}

func newMerger() *merger {
	return &merger{owner: map[string]string{}, taken: map[string]synth.Input{}}
}

// mergeAll merges every file anew, in name order, and returns an error
// for each object defined again.
func mergeAll(files map[string]synth.Input) (*merger, []error) {
	m := newMerger()
	var errs []error
	for _, path := range slices.Sorted(maps.Keys(files)) {
		errs = append(errs, m.add(path, files[path])...)
	}
	m.contested = len(errs) > 0
	return m, errs
}

// add takes in's objects that no earlier file defines.
func (m *merger) add(file string, in synth.Input) []error {
	var errs []error
	var t synth.Input
	t.Services, errs = takeNew(m, file, "Service", in.Services, errs)
	t.EndpointSlices, errs = takeNew(m, file, "EndpointSlice", in.EndpointSlices, errs)
	t.Nodes, errs = takeNew(m, file, "Node", in.Nodes, errs)
	m.taken[file] = t
	return errs
}

// takeNew returns the objects of list that no other file has claimed,
// claiming them for file, and appends an error for each other one.
func takeNew[T metav1.Object](m *merger, file, kind string, list []T, errs []error) ([]T, []error) {
	out := make([]T, 0, len(list))
	for _, o := range list {
		key := objectKey(kind, o)
		if first, ok := m.owner[key]; ok {
			errs = append(errs, fmt.Errorf("%s: %s is also defined in %s; using that one", file, key, first))
			continue
		}
		m.owner[key] = file
		out = append(out, o)
	}
	return out, errs
}

// update replaces file's content with in (a removed file has none) and
// reports whether that was possible without looking at the other files:
// false when some object is, or would be, defined twice. The merger is
// then unusable and must be replaced by mergeAll's.
func (m *merger) update(file string, in synth.Input) bool {
	if m.contested {
		return false
	}
	old := m.taken[file]
	release(m, "Service", old.Services)
	release(m, "EndpointSlice", old.EndpointSlices)
	release(m, "Node", old.Nodes)
	delete(m.taken, file)
	if len(in.Services)+len(in.EndpointSlices)+len(in.Nodes) == 0 {
		return true
	}
	return len(m.add(file, in)) == 0
}

func release[T metav1.Object](m *merger, kind string, list []T) {
	for _, o := range list {
		delete(m.owner, objectKey(kind, o))
	}
}

// union returns the objects taken from every file, in file name order.
// The lists are new; the objects are the files' own, so an unchanged
// object keeps its pointer (synth.Builder compares objects by pointer).
func (m *merger) union() synth.Input {
	var u synth.Input
	for _, path := range slices.Sorted(maps.Keys(m.taken)) {
		t := m.taken[path]
		u.Services = append(u.Services, t.Services...)
		u.EndpointSlices = append(u.EndpointSlices, t.EndpointSlices...)
		u.Nodes = append(u.Nodes, t.Nodes...)
	}
	return u
}

func objectKey(kind string, o metav1.Object) string {
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}
