package labtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns/netnstest"
)

// waitLog waits (bounded) until p's log contains s.
func waitLog(t *testing.T, p *labtest.Proc, s string) {
	t.Helper()
	_, err := labtest.Eventually(t.Context(), 10*time.Second, 10*time.Millisecond, func(context.Context) error {
		if !strings.Contains(p.LogTail(0, 1<<20), s) {
			return fmt.Errorf("log lacks %q:\n%s", s, p.LogTail(0, 2000))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestProcStopRestartAndLog(t *testing.T) {
	p := labtest.NewProc("sleeper", nil, filepath.Join(t.TempDir(), "sleeper.log"),
		"sh", "-c", `echo "hello $GREETING"; exec sleep 30`)
	p.Env = []string{"GREETING=lab"}
	if err := p.Exited(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("before Start: Exited() = %v", err)
	}
	for run := 1; run <= 2; run++ {
		if err := p.Start(); err != nil {
			t.Fatal(err)
		}
		if err := p.Start(); err == nil {
			t.Error("a second Start of a running process succeeded")
		}
		if !p.Running() || p.Pid() <= 0 || p.Exited() != nil {
			t.Fatalf("run %d: running %v pid %d exited %v", run, p.Running(), p.Pid(), p.Exited())
		}
		waitLog(t, p, strings.Repeat("hello lab\n", 1))
		size := p.LogSize()
		if err := p.Stop(5 * time.Second); err != nil {
			t.Fatalf("run %d: Stop: %v", run, err)
		}
		if p.Running() {
			t.Fatal("running after Stop")
		}
		if code, ok := p.ExitCode(); !ok || code != -1 {
			t.Errorf("exit code %d %v, want -1 (a signal)", code, ok)
		}
		if err := p.Exited(); err == nil || !strings.Contains(err.Error(), "terminated") {
			t.Errorf("Exited() = %v, want the signal", err)
		}
		if tail := p.LogTail(size, 1000); !strings.Contains(tail, "sleeper exited: signal: terminated") {
			t.Errorf("log after the stop: %q", tail)
		}
	}
	if n := strings.Count(p.LogTail(0, 1<<20), "==== "); n != 4 {
		t.Errorf("%d log markers (start and exit of two runs), want 4:\n%s", n, p.LogTail(0, 1<<20))
	}
	if tail := p.LogTail(0, 5); !strings.HasPrefix(tail, "...(cut)...\n") || len(tail) != len("...(cut)...\n")+5 {
		t.Errorf("LogTail(0, 5) = %q", tail)
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("Stop of a stopped process: %v", err)
	}
}

func TestProcExitCode(t *testing.T) {
	p := labtest.NewProc("fails", nil, filepath.Join(t.TempDir(), "fails.log"), "sh", "-c", "exit 3")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	_, err := labtest.Eventually(t.Context(), 10*time.Second, 10*time.Millisecond, func(context.Context) error {
		if p.Running() {
			return errors.New("still running")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if code, ok := p.ExitCode(); !ok || code != 3 {
		t.Errorf("exit code %d %v, want 3", code, ok)
	}
	if err := p.Exited(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Exited() = %v", err)
	}
}

func TestProcIgnoringSIGTERMIsKilled(t *testing.T) {
	p := labtest.NewProc("stubborn", nil, filepath.Join(t.TempDir(), "stubborn.log"),
		"sh", "-c", `trap "" TERM; printf 'rea%s\n' dy; while :; do sleep 0.1; done`)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, "ready")
	t0 := time.Now()
	err := p.Stop(300 * time.Millisecond)
	if !errors.Is(err, labtest.ErrKilled) {
		t.Fatalf("Stop = %v, want ErrKilled", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if p.Running() {
		t.Error("still running")
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill of a stopped process: %v", err)
	}
}

// TestProcInHost: the process runs inside the host's namespace, and the pid
// held is the program's own (ip netns exec execs in place).
func TestProcInHost(t *testing.T) {
	lab := netnstest.NewLab(t)
	p := labtest.NewProc("in-node", lab.Node, filepath.Join(t.TempDir(), "node.log"),
		"sh", "-c", "ip -4 -o addr show; exec sleep 30")
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	waitLog(t, p, lab.Node.IPv4().String()+"/")
	_, err := labtest.Eventually(t.Context(), 10*time.Second, 10*time.Millisecond, func(context.Context) error {
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p.Pid()))
		if strings.TrimSpace(string(comm)) != "sleep" {
			return fmt.Errorf("pid %d is %q (%v), want sleep", p.Pid(), comm, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, got := nsInode(t, lab.Node.Path()), nsInode(t, fmt.Sprintf("/proc/%d/ns/net", p.Pid()))
	if want != got {
		t.Errorf("process in namespace inode %d, node's is %d", got, want)
	}
}

func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// fakeTB records what StartFor does with a test.
type fakeTB struct {
	cleanups       []func()
	errors, fatals []string
	logs           []string
	failed         bool
}

func (f *fakeTB) Helper()                 {}
func (f *fakeTB) Cleanup(fn func())       { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Failed() bool            { return f.failed || len(f.errors) > 0 }
func (f *fakeTB) Logf(s string, a ...any) { f.logs = append(f.logs, fmt.Sprintf(s, a...)) }
func (f *fakeTB) Errorf(s string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(s, a...))
}
func (f *fakeTB) Fatalf(s string, a ...any) { f.fatals = append(f.fatals, fmt.Sprintf(s, a...)) }

func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestStartFor(t *testing.T) {
	dir := t.TempDir()
	t.Run("stops at cleanup", func(t *testing.T) {
		p := labtest.NewProc("quiet", nil, filepath.Join(dir, "quiet.log"), "sleep", "30")
		var f fakeTB
		p.StartFor(&f, 5*time.Second)
		if !p.Running() || len(f.fatals) > 0 {
			t.Fatalf("running %v, fatals %q", p.Running(), f.fatals)
		}
		f.runCleanups()
		if p.Running() || len(f.errors) > 0 || len(f.logs) > 0 {
			t.Errorf("after cleanup: running %v, errors %q, logs %q", p.Running(), f.errors, f.logs)
		}
	})
	t.Run("ignoring SIGTERM fails the test and shows the log", func(t *testing.T) {
		p := labtest.NewProc("stubborn", nil, filepath.Join(dir, "stubborn.log"),
			"sh", "-c", `trap "" TERM; printf 'rea%s\n' dy; while :; do sleep 0.1; done`)
		var f fakeTB
		p.StartFor(&f, 200*time.Millisecond)
		waitLog(t, p, "ready")
		f.runCleanups()
		if len(f.errors) != 1 || !strings.Contains(f.errors[0], "ignored SIGTERM") {
			t.Errorf("errors %q", f.errors)
		}
		if len(f.logs) != 1 || !strings.Contains(f.logs[0], "ready") {
			t.Errorf("logs %q", f.logs)
		}
	})
	t.Run("a start failure is fatal", func(t *testing.T) {
		p := labtest.NewProc("missing", nil, filepath.Join(dir, "missing.log"), filepath.Join(dir, "no-such-binary"))
		var f fakeTB
		p.StartFor(&f, time.Second)
		if len(f.fatals) != 1 || !strings.Contains(f.fatals[0], "missing: start") {
			t.Errorf("fatals %q", f.fatals)
		}
	})
}
