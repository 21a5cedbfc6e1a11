package manifest

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/synth"
)

// prettyList writes the way `kubectl get -o json` does: indented, keys
// in alphabetical order, so "items" comes before "kind".
func prettyList(t *testing.T, compact []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(compact, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStreamMatchesWholeFile checks that a JSON list read as a stream
// gives what reading the whole file gives, objects and the line numbers of
// ignored objects and errors included, and that streaming was really used
// where it applies.
func TestStreamMatchesWholeFile(t *testing.T) {
	in := gen.Cluster(gen.Config{Services: 40, EndpointsPerService: 3, Seed: 3})
	var compact bytes.Buffer
	if err := gen.Write(&compact, in); err != nil {
		t.Fatal(err)
	}
	other := `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}}`
	withOther := strings.Replace(compact.String(), `"items":[`, `"items":[`+"\n"+other+",\n", 1)
	svc := `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dup"}, "spec": {"ports": [{"port": 1}]}}`
	dup := strings.Replace(compact.String(), `"items":[`, `"items":[`+"\n"+svc+",\n"+svc+",\n", 1)
	dir := t.TempDir()
	for _, tc := range []struct {
		name, data string
		streams    bool
	}{
		{"compact", compact.String(), true},
		{"pretty", string(prettyList(t, compact.Bytes())), true},
		{"other kind", withOther, true},
		{"typed list without item kinds", `{"apiVersion": "v1", "kind": "ServiceList", "items": [{"metadata": {"name": "a"}}]}`, false},
		{"not a list", `{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a"}}`, false},
		{"two values", compact.String() + "\n" + other, false},
		{"duplicate Service", dup, true}, // the duplicate is skipped, the list streams
		{"type error", strings.Replace(compact.String(), `"port":80`, `"port":"x"`, 1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
				t.Fatal(err)
			}
			var whole, streamed Loader
			want, wantErr := whole.Read(path, strings.NewReader(tc.data))
			got, gotErr := streamed.Load(path)
			if diff := cmp.Diff(errText(wantErr), errText(gotErr)); diff != "" {
				t.Errorf("errors differ (-whole +streamed):\n%s", diff)
			}
			if diff := cmp.Diff(errText(whole.Errors), errText(streamed.Errors)); diff != "" {
				t.Errorf("object errors differ (-whole +streamed):\n%s", diff)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("objects differ (-whole +streamed):\n%s", diff)
			}
			if diff := cmp.Diff(whole.Ignored, streamed.Ignored); diff != "" {
				t.Errorf("ignored objects differ (-whole +streamed):\n%s", diff)
			}
			if streams := newBuilder().streamJSONList(path) == nil; streams != tc.streams {
				t.Errorf("streamed = %v, want %v", streams, tc.streams)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	if es, ok := err.(Errors); ok && len(es) == 0 {
		return ""
	}
	return err.Error()
}

// TestNewlineReader checks line numbers of increasing offsets across
// reads of any size.
func TestNewlineReader(t *testing.T) {
	text := "a\nbb\n\nccc\nd"
	for size := 1; size <= len(text); size++ {
		r := &newlineReader{r: &chunked{s: text, n: size}, line: 1}
		buf := make([]byte, 64)
		for {
			if _, err := r.Read(buf); err != nil {
				break
			}
		}
		got := []int{r.lineAt(0), r.lineAt(2), r.lineAt(5), r.lineAt(6), r.lineAt(10)}
		if want := []int{1, 2, 3, 4, 5}; !cmp.Equal(got, want) {
			t.Errorf("reads of %d bytes: lines %v, want %v", size, got, want)
		}
	}
}

// chunked reads s at most n bytes at a time.
type chunked struct {
	s string
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, os.ErrClosed
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}

// TestTrimKeepsModel checks that what decoding drops (trim.go) is nothing
// synth reads: the model of trimmed objects equals the model of whole ones.
func TestTrimKeepsModel(t *testing.T) {
	in := gen.Cluster(gen.Config{Services: 50, EndpointsPerService: 4, Seed: 5})
	in.Services[0].Labels[synth.ProxyNameLabel] = "other-proxy"
	in.Services[1].Labels[synth.HeadlessLabel] = ""
	in.Services[2].Annotations = map[string]string{"service.kubernetes.io/topology-mode": "Auto"}
	trimmed := synth.Input{}
	for _, s := range in.Services {
		s = s.DeepCopy()
		trimService(s)
		trimmed.Services = append(trimmed.Services, s)
	}
	for _, s := range in.EndpointSlices {
		s = s.DeepCopy()
		trimEndpointSlice(s)
		trimmed.EndpointSlices = append(trimmed.EndpointSlices, s)
	}
	for _, n := range in.Nodes {
		n = n.DeepCopy()
		trimNode(n)
		trimmed.Nodes = append(trimmed.Nodes, n)
	}
	if trimmed.EndpointSlices[0].Endpoints[0].TargetRef != nil || in.EndpointSlices[0].Endpoints[0].TargetRef == nil {
		t.Fatal("the generated cluster has no targetRefs to drop, or they were kept")
	}
	cfg := synth.Config{NodeName: "node-1"}
	if diff := cmp.Diff(synth.Build(in, cfg), synth.Build(trimmed, cfg), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
		t.Errorf("trimming changed the model (-whole +trimmed):\n%s", diff)
	}
}
