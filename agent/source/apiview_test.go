package source

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func versioned(name, uid, rv string) *corev1.Service {
	s := svcObj(name, nil)
	s.UID, s.ResourceVersion = types.UID(uid), rv
	return s
}

func listNames(l []*corev1.Service) []string {
	var out []string
	for _, s := range l {
		out = append(out, s.Name)
	}
	return out
}

// TestSortedObjectsSet: objects are kept sorted, replaced by name,
// removed, and a list handed out never changes afterwards.
func TestSortedObjectsSet(t *testing.T) {
	var s sortedObjects[*corev1.Service]
	if l := s.list(); l == nil || len(l) != 0 {
		t.Fatalf("empty list = %#v, want an empty, non-nil one", l)
	}
	for _, n := range []string{"m", "a", "z"} {
		s.set(svcObj(n, nil), true)
	}
	first := s.list()
	newA := svcObj("a", nil)
	s.set(newA, true)
	s.set(svcObj("m", nil), false)
	s.set(svcObj("absent", nil), false)
	s.set(svcObj("b", nil), true)
	if diff := cmp.Diff([]string{"a", "b", "z"}, listNames(s.list())); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	if s.list()[0] != newA {
		t.Error("a replaced object is not the new one")
	}
	if diff := cmp.Diff([]string{"a", "m", "z"}, listNames(first)); diff != "" || first[0] == newA {
		t.Errorf("a list handed out changed afterwards (-want +got):\n%s", diff)
	}
}

// TestSortedObjectsReplace: a relist keeps the object it had where the UID
// and resourceVersion are the same, and takes the new one otherwise.
func TestSortedObjectsReplace(t *testing.T) {
	var s sortedObjects[*corev1.Service]
	same, bumped, recreated := versioned("same", "u1", "5"), versioned("bumped", "u2", "5"), versioned("recreated", "u3", "5")
	for _, o := range []*corev1.Service{same, bumped, recreated, versioned("gone", "u4", "5")} {
		s.set(o, true)
	}
	fresh := []*corev1.Service{
		versioned("recreated", "u9", "5"), versioned("same", "u1", "5"), versioned("bumped", "u2", "6"),
		versioned("new", "u5", "1"), svcObj("other", map[string]string{LabelServiceProxyName: "x"}),
	}
	s.replace(fresh)
	got := s.list()
	if diff := cmp.Diff([]string{"bumped", "new", "recreated", "same"}, listNames(got)); diff != "" {
		t.Fatalf("list after the relist (-want +got):\n%s", diff)
	}
	if got[3] != same {
		t.Error("an unchanged object got a new pointer")
	}
	if got[0] == bumped || got[2] == recreated {
		t.Error("an object with a new resourceVersion or UID kept the old pointer")
	}
}

// TestViewSameVersion: a relisting informer set is handed the view's
// object only for the same UID and resourceVersion, of the same kind.
func TestViewSameVersion(t *testing.T) {
	var v apiView
	same := versioned("same", "u1", "5")
	v.services.set(same, true)
	v.services.set(versioned("bumped", "u2", "5"), true)
	v.services.set(versioned("recreated", "u3", "5"), true)
	if got, ok := v.sameVersion(versioned("same", "u1", "5")); !ok || got != same {
		t.Errorf("unchanged Service: got %v, %v; want the view's object", got, ok)
	}
	for _, o := range []any{
		versioned("bumped", "u2", "6"), versioned("recreated", "u9", "5"), versioned("new", "u4", "1"),
		sliceObj("same", nil), // another kind of the same name
	} {
		if got, ok := v.sameVersion(o); ok {
			t.Errorf("%v: got the view's %v, want none", o, got)
		}
	}
}
