package netnstest

import (
	"path/filepath"
	"testing"
	"time"
)

// The runs of the tools one fuzz input makes must end within the fuzzing
// engine's fixed per-input limit, with room for rendering and a loaded
// scheduler; otherwise a slow machine kills the worker and leaves a crasher
// that passes when re-run.
func TestDefaultBudgetFitsAFuzzInput(t *testing.T) {
	worst := ToolRunsPerFuzzInput * defaultBudget.worst()
	if worst > fuzzInputLimit*8/10 {
		t.Errorf("%d tool runs may take %s, more than 80%% of the fuzz engine's %s per input",
			ToolRunsPerFuzzInput, worst, fuzzInputLimit)
	}
}

// testBudget keeps the timeouts of these tests short.
var testBudget = budget{run: 300 * time.Millisecond, probe: 300 * time.Millisecond, kill: 100 * time.Millisecond}

func TestToolCheck(t *testing.T) {
	ns := Scratch(t, "exec")
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	tests := []struct {
		name    string
		argv    func(dir string) []string
		want    outcome
		wantOut string
	}{
		{"exits", func(string) []string { return sh("cat") }, finished, "input"},
		{"machine stalled", func(string) []string { return sh("exec sleep 5") }, stalled, ""},
		{"input hangs the tool", func(string) []string { return sh("if grep -q input; then exec sleep 5; fi") }, hung, ""},
		{"one slow run", func(dir string) []string {
			flag := filepath.Join(dir, "slow-once")
			return sh("if [ -e " + flag + " ]; then cat; else touch " + flag + "; exec sleep 5; fi")
		}, finished, "input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tool := Tool{Argv: tc.argv(t.TempDir()), Probe: []byte("probe")}
			start := time.Now()
			r := tool.check(ns, []byte("input"), testBudget)
			if took := time.Since(start); took > testBudget.worst()+time.Second {
				t.Errorf("check took %s, want at most %s (+1 s of slack)", took, testBudget.worst())
			}
			if r.outcome != tc.want {
				t.Fatalf("outcome %d, want %d (out %q, err %v)", r.outcome, tc.want, r.out, r.err)
			}
			if r.outcome == finished && (r.out != tc.wantOut || r.err != nil) {
				t.Errorf("got %q, %v; want %q, nil", r.out, r.err, tc.wantOut)
			}
		})
	}
}
