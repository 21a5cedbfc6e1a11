//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// proc is one child process (etcd, kube-apiserver, svcnat) with its output
// appended to a log file. It is stopped by pid only: SIGTERM, then SIGKILL.
type proc struct {
	name    string
	host    *netns.Host // nil: the test's own namespace
	argv    []string
	logPath string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
	err  error         // Wait's result, valid after done
}

// newProc describes a process; start runs it (again).
func newProc(name string, host *netns.Host, logPath string, argv ...string) *proc {
	return &proc{name: name, host: host, argv: argv, logPath: logPath}
}

// start runs the process. `ip netns exec` execs the program in place, so
// the pid we hold is the program's own.
func (p *proc) start() error {
	if p.running() {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "==== %s start %s: %s\n", time.Now().Format(time.RFC3339Nano), p.name, strings.Join(p.argv, " "))
	if p.host != nil {
		p.cmd = p.host.Command(context.Background(), p.argv...)
	} else {
		p.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// If the test binary dies (panic, -timeout), the children die with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	p.done = done
	cmd := p.cmd
	go func() {
		p.err = cmd.Wait()
		close(done)
	}()
	return nil
}

// running reports whether the process was started and not yet reaped.
func (p *proc) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exited returns a non-nil error once the process is gone.
func (p *proc) exited() error {
	if p.done == nil {
		return fmt.Errorf("%s: not started", p.name)
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v (log %s)", p.name, p.err, p.logPath)
	default:
		return nil
	}
}

// stop sends SIGTERM, and SIGKILL if the process is still there after grace.
func (p *proc) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM pid %d: %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	return p.kill()
}

// kill sends SIGKILL and waits (bounded) for the process to be reaped.
func (p *proc) kill() error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGKILL pid %d: %w", p.name, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: pid %d not reaped 10s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// logSize is the current size of the log, to print only what a test added.
func (p *proc) logSize() int64 {
	st, err := os.Stat(p.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// logTail returns the log from offset on, at most maxBytes from its end.
func (p *proc) logTail(offset int64, maxBytes int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	b = b[offset:]
	if len(b) > maxBytes {
		b = append([]byte("...(cut)...\n"), b[len(b)-maxBytes:]...)
	}
	return string(b)
}
