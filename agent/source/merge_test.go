package source

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/synth"
)

func svcs(names ...string) synth.Input {
	var in synth.Input
	for _, n := range names {
		in.Services = append(in.Services, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: n}})
	}
	return in
}

func serviceNames(in synth.Input) []string {
	var out []string
	for _, s := range in.Services {
		out = append(out, s.Name)
	}
	return out
}

// TestMergerUpdateIsMergeAll: after each change of one file, merging that
// file alone (or everything, when update refuses) gives what merging every
// file gives, including while an object is defined twice and after.
func TestMergerUpdateIsMergeAll(t *testing.T) {
	files := map[string]synth.Input{"a": svcs("x", "y"), "b": svcs("z")}
	m, _ := mergeAll(files)
	steps := []struct {
		file      string
		in        synth.Input
		wantNames []string
		wantFast  bool // update merges the file alone
	}{
		{"b", svcs("z", "w"), []string{"x", "y", "z", "w"}, true},
		{"c", svcs("v"), []string{"x", "y", "z", "w", "v"}, true},
		{"c", synth.Input{}, []string{"x", "y", "z", "w"}, true}, // removed
		{"b", svcs("z", "x"), []string{"x", "y", "z"}, false},    // x is a's
		{"b", svcs("z"), []string{"x", "y", "z"}, false},         // contested until merged again
		{"a", svcs("y"), []string{"y", "z"}, true},
	}
	for i, s := range steps {
		if len(s.in.Services) == 0 {
			delete(files, s.file)
		} else {
			files[s.file] = s.in
		}
		fast := m.update(s.file, s.in)
		if fast != s.wantFast {
			t.Errorf("step %d: update = %v, want %v", i, fast, s.wantFast)
		}
		if !fast {
			m, _ = mergeAll(files)
		}
		want, _ := mergeAll(files)
		if diff := cmp.Diff(serviceNames(want.union()), serviceNames(m.union())); diff != "" {
			t.Fatalf("step %d: incremental merge differs from a full one (-full +incremental):\n%s", i, diff)
		}
		if diff := cmp.Diff(s.wantNames, serviceNames(m.union())); diff != "" {
			t.Fatalf("step %d: merged Services (-want +got):\n%s", i, diff)
		}
	}
}

// TestMergerKeepsOtherFilesObjects: an update of one file leaves the
// other files' objects in the union as they were, by pointer, so that
// synth.Builder sees them unchanged.
func TestMergerKeepsOtherFilesObjects(t *testing.T) {
	big := svcs("a", "b", "c")
	m, errs := mergeAll(map[string]synth.Input{"big": big, "small": svcs("probe")})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !m.update("small", svcs("probe")) {
		t.Fatal("update of a file without duplicates refused")
	}
	u := m.union()
	for i, s := range big.Services {
		if u.Services[i] != s {
			t.Errorf("Service %s is a new object after another file changed", s.Name)
		}
	}
	if got := fmt.Sprint(serviceNames(u)); got != "[a b c probe]" {
		t.Errorf("union = %s", got)
	}
}
