package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// TestGolden explains every Service of every scenario in testdata/, as text
// and as JSON, and compares with explain/testdata/<scenario>.{txt,json}
// (go test ./explain -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			res := synth.Build(s.Input, s.Config)
			var text bytes.Buffer
			reports := []*Report{}
			for _, svc := range s.Input.Services {
				r, err := Explain(s.Input, res, svc.Namespace, svc.Name)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.WriteText(&text); err != nil {
					t.Fatal(err)
				}
				text.WriteString("----\n")
				reports = append(reports, r)
			}
			js, err := json.MarshalIndent(reports, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("testdata", s.Name+".txt"), text.Bytes())
			checkGolden(t, filepath.Join("testdata", s.Name+".json"), append(js, '\n'))
		})
	}
}

func TestUnknownService(t *testing.T) {
	_, err := Explain(synth.Input{}, synth.Result{}, "default", "nope")
	if err == nil || !strings.Contains(err.Error(), "default/nope not found") {
		t.Errorf("Explain of a missing Service: %v, want a not found error", err)
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *scenario.Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./explain -run Golden -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test ./explain -run Golden -update accepts):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}
