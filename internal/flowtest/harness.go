package flowtest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/internal/scenario"
	"github.com/svcnat/svcnat/synth"
)

// Factory returns the backend under test for the network namespace at
// netnsPath. It fails t on error and releases the backend in t.Cleanup.
type Factory func(t testing.TB, netnsPath string) backend.Backend

// Scenarios runs every scenario of testdata/ as a parallel subtest, each
// in its own lab.
func Scenarios(t *testing.T, newBackend Factory) {
	for _, s := range scenario.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			Scenario(t, s, newBackend)
		})
	}
}

// Scenario builds the lab of s, applies its Rulesets with the backend and
// runs every flow of its table as a subtest named after the row.
func Scenario(t *testing.T, s *scenario.Scenario, newBackend Factory) {
	res := synth.Build(s.Input, s.Config)
	e := newEnv(t, s, res)
	be := newBackend(t, e.lab.Node.Path())
	if _, err := backend.Apply(context.Background(), be, res.Rulesets(), nil); err != nil {
		t.Fatalf("%s: apply: %v", be.Name(), err)
	}
	for _, f := range s.Flows {
		t.Run(flowName(f), func(t *testing.T) { e.runFlow(t, f) })
	}
}

// flowName names a row's subtest, e.g. "L3_192.168.1.10_tcp_10.96.0.80:80".
func flowName(f scenario.Flow) string {
	return fmt.Sprintf("L%d_%s_%s_%s", f.Line, f.Src, f.Proto, f.Dst)
}

// load reads one scenario of testdata/ by name.
func load(t testing.TB, name string) *scenario.Scenario {
	t.Helper()
	dir, err := scenario.Dir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := scenario.Load(filepath.Join(dir, name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
