package netnstest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// fuzzInputLimit is how long Go's fuzzing engine lets one input run: a
// worker still busy after it panics ("deadlocked!", a message that is never
// printed) and the coordinator saves whatever input was running as a
// crasher ("fuzzing process hung or terminated unexpectedly: exit status
// 2"). It is fixed in internal/fuzz; no flag changes it. A tool run slowed
// by a loaded machine must therefore end, and be judged, well within it.
const fuzzInputLimit = 10 * time.Second

// ToolRunsPerFuzzInput is how many Tool.Run calls one fuzz input may make
// (the iptables fuzzer checks two families) and still stay within
// fuzzInputLimit in the worst case.
const ToolRunsPerFuzzInput = 2

// budget bounds the runs of one Tool.Run.
type budget struct {
	run   time.Duration // one run of the tool on the input
	probe time.Duration // one run of the tool on its probe
	kill  time.Duration // after a kill, how long the tool's pipes may stay open
}

// defaultBudget: a capped fuzz input loads in tens of milliseconds, even on
// a loaded 2-core machine; a run 50 times longer is a stall or a hang.
var defaultBudget = budget{run: 1200 * time.Millisecond, probe: 600 * time.Millisecond, kill: 300 * time.Millisecond}

// worst is the longest one Tool.Run takes: the input twice and the probe
// once, each killed at its bound.
func (b budget) worst() time.Duration {
	return 2*(b.run+b.kill) + b.probe + b.kill
}

// Tool is a kernel tool that reads its input on stdin, such as
// `nft -c -f -` or `iptables-restore --test --noflush`.
type Tool struct {
	Argv []string
	// Probe is a tiny input the tool accepts and that reaches the same
	// kernel tables as a real one. When an input times out, a timed probe
	// tells a stalled machine (the probe is slow too: the input is not
	// judged) from an input that hangs the tool (the probe loads at once).
	Probe []byte
}

// outcome says how a bounded tool check ended.
type outcome int

const (
	finished outcome = iota // the tool exited; its output and error are the result
	stalled                 // the input and then the probe timed out: the machine is stalled
	hung                    // the input timed out twice although the probe loaded in time
)

type result struct {
	out     string
	err     error
	outcome outcome
}

// Run runs the tool inside the network namespace at ns (nsenter --net,
// never the root namespace) with stdin as its input and returns its
// combined output and exit error. Each run is bounded (see defaultBudget)
// so that ToolRunsPerFuzzInput calls fit in one fuzz input. A timeout
// skips the test when the probe times out too (the machine stalled, the
// input says nothing) and fails it when the input times out twice while
// the probe loads. Each test process uses its own XTABLES_LOCKFILE, so
// parallel fuzz workers do not queue on one lock.
func (tool Tool) Run(t testing.TB, ns string, stdin []byte) (string, error) {
	t.Helper()
	r := tool.check(ns, stdin, defaultBudget)
	switch r.outcome {
	case stalled:
		t.Skipf("%s and its probe both timed out in %s: machine stalled, input not checked", tool.Argv[0], ns)
	case hung:
		t.Fatalf("%s timed out twice (%s each) on this input in %s while its probe loads in time",
			tool.Argv[0], defaultBudget.run, ns)
	}
	return r.out, r.err
}

// check runs the input, and on a timeout the probe and then the input
// once more, each within b.
func (tool Tool) check(ns string, stdin []byte, b budget) result {
	env := append(os.Environ(), "XTABLES_LOCKFILE="+lockFile())
	args := append([]string{"--net=" + ns, "--"}, tool.Argv...)
	out, err := runBounded(env, stdin, args, b.run, b.kill)
	if !errors.Is(err, context.DeadlineExceeded) {
		return result{out: out, err: err, outcome: finished}
	}
	if _, err := runBounded(env, tool.Probe, args, b.probe, b.kill); errors.Is(err, context.DeadlineExceeded) {
		return result{outcome: stalled}
	}
	out, err = runBounded(env, stdin, args, b.run, b.kill)
	if errors.Is(err, context.DeadlineExceeded) {
		return result{out: out, err: err, outcome: hung}
	}
	return result{out: out, err: err, outcome: finished}
}

// runBounded runs nsenter with args, killing it after limit. kill bounds
// how long its children may then hold the output pipes open.
func runBounded(env []string, stdin []byte, args []string, limit, kill time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.WaitDelay = kill
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}

// lockFile is this process's xtables lock file: one per test binary (one
// per fuzz worker), in the temporary directory, so that it is never the
// system's /run/xtables.lock either.
func lockFile() string {
	return filepath.Join(os.TempDir(), "svcnat-xtables-"+strconv.Itoa(os.Getpid())+".lock")
}
