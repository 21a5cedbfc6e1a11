package manifest

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// kubectlList writes in the way kubectl get -o yaml does: one List
// document, items in a block sequence at column 0.
func kubectlList(t testing.TB, in synth.Input) []byte {
	var buf bytes.Buffer
	buf.WriteString("apiVersion: v1\nitems:\n")
	var objs []any
	for _, s := range in.Services {
		objs = append(objs, s)
	}
	for _, e := range in.EndpointSlices {
		objs = append(objs, e)
	}
	for _, n := range in.Nodes {
		objs = append(objs, n)
	}
	for _, o := range objs {
		data, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		prefix := "- "
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			buf.WriteString(prefix)
			buf.Write(l)
			prefix = "  "
		}
	}
	buf.WriteString("kind: List\nmetadata:\n  resourceVersion: \"\"\n")
	return buf.Bytes()
}

// encodings of a generated cluster in each supported layout.
func encodings(t testing.TB, in synth.Input) map[string][]byte {
	var js, ys bytes.Buffer
	if err := gen.Write(&js, in); err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteYAML(&ys, in); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"json-list": js.Bytes(), "yaml-docs": ys.Bytes(), "kubectl-yaml-list": kubectlList(t, in)}
}

// TestGeneratedRoundTrip reads a generated cluster back from every layout,
// which also checks that splitting a kubectl list by indentation gives the
// same objects as parsing the list whole.
func TestGeneratedRoundTrip(t *testing.T) {
	t.Parallel()
	want := gen.Cluster(gen.Config{Services: 60, EndpointsPerService: 3, Seed: 7})
	encoded := encodings(t, want)
	trimInput(want) // decoding drops what svcnat never reads
	for name, data := range encoded {
		got, err := Read(name, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s round trip (-want +got):\n%s", name, diff)
		}
	}
	whole, err := decodePiece(piece{file: "whole", base: 1, line: 1, data: kubectlList(t, want), whole: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != len(want.Services)+len(want.EndpointSlices)+len(want.Nodes) {
		t.Errorf("whole-list decode gave %d objects", len(whole))
	}
}

func trimInput(in synth.Input) {
	for _, s := range in.Services {
		trimService(s)
	}
	for _, s := range in.EndpointSlices {
		trimEndpointSlice(s)
	}
	for _, n := range in.Nodes {
		trimNode(n)
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		if n > 1000 && testing.Short() {
			continue
		}
		in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 3, Seed: 1})
		enc := encodings(b, in)
		for _, layout := range []string{"json-list", "kubectl-yaml-list", "yaml-docs"} {
			data := enc[layout]
			b.Run(fmt.Sprintf("%s/%dk", layout, n/1000), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					if _, err := Read(layout, bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLoadFile loads the file named by $SVCNAT_BENCH_FILE, for
// measuring real or large dumps (svcnat-gen --services 50000).
func BenchmarkLoadFile(b *testing.B) {
	path := os.Getenv("SVCNAT_BENCH_FILE")
	if path == "" {
		b.Skip("SVCNAT_BENCH_FILE not set")
	}
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}
