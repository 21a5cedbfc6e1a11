package labtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// reapLimit bounds the wait for a process to be reaped after SIGKILL.
const reapLimit = 10 * time.Second

// ErrKilled is wrapped by Stop's error when the process outlived SIGTERM's
// grace period and had to be killed.
var ErrKilled = errors.New("killed after SIGTERM's grace period")

// Proc is one child process (etcd, kube-apiserver, kube-proxy, svcnat)
// with its output appended to a log file. It may be started again after it
// stopped. It is signalled by its pid only.
type Proc struct {
	name    string
	host    *netns.Host
	argv    []string
	logPath string
	// Env is added to this process's environment by the next Start.
	Env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has been reaped
	err  error         // Wait's result, valid once done is closed
}

// NewProc describes a process that runs argv inside host (nil: the
// calling process's own namespace) and appends its output to logPath.
// Start runs it.
func NewProc(name string, host *netns.Host, logPath string, argv ...string) *Proc {
	return &Proc{name: name, host: host, argv: argv, logPath: logPath}
}

// Name is the name given to NewProc.
func (p *Proc) Name() string { return p.name }

// LogPath is the process's log file.
func (p *Proc) LogPath() string { return p.logPath }

// Start runs the process. `ip netns exec` execs the program in place, so
// the pid held is the program's own. The child gets SIGKILL if the calling
// process dies first (a panic, go test's -timeout).
func (p *Proc) Start() error {
	if len(p.argv) == 0 {
		return fmt.Errorf("%s: no command", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return fmt.Errorf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: open log: %w", p.name, err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "==== %s start %s: %s\n", stamp(), p.name, strings.Join(p.argv, " "))
	var cmd *exec.Cmd
	if p.host != nil {
		cmd = p.host.Command(context.Background(), p.argv...)
	} else {
		cmd = exec.Command(p.argv[0], p.argv[1:]...)
	}
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go p.reap(cmd, done)
	return nil
}

// reap waits for cmd, records its status and notes the exit in the log.
func (p *Proc) reap(cmd *exec.Cmd, done chan struct{}) {
	err := cmd.Wait()
	if logf, ferr := os.OpenFile(p.logPath, os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
		fmt.Fprintf(logf, "==== %s %s exited: %v\n", stamp(), p.name, cmdStatus(err))
		logf.Close()
	}
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(done)
}

func stamp() string { return time.Now().Format("15:04:05.000") }

func cmdStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// Pid is the pid of the last run, 0 before the first Start.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Running reports whether the process was started and not yet reaped.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

func (p *Proc) runningLocked() bool {
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

// Exited returns nil while the process runs, and an error that says how it
// ended (or that it never started) otherwise.
func (p *Proc) Exited() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return fmt.Errorf("%s: not started", p.name)
	}
	if p.runningLocked() {
		return nil
	}
	return fmt.Errorf("%s exited: %s (log %s)", p.name, cmdStatus(p.err), p.logPath)
}

// ExitCode returns the last run's exit code (-1 when a signal ended it),
// and false while it runs or before it started.
func (p *Proc) ExitCode() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil || p.runningLocked() {
		return 0, false
	}
	return p.cmd.ProcessState.ExitCode(), true
}

// Stop sends SIGTERM and waits up to grace for the process to exit, then
// sends SIGKILL. The error wraps ErrKilled when SIGKILL was needed. Stopping
// a process that does not run does nothing.
func (p *Proc) Stop(grace time.Duration) error {
	cmd, done := p.current()
	if done == nil || !isOpen(done) {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGTERM pid %d: %w", p.name, cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(grace):
	}
	if err := p.Kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s pid %d ignored SIGTERM for %v: %w", p.name, cmd.Process.Pid, grace, ErrKilled)
}

// Kill sends SIGKILL and waits (bounded) for the process to be reaped.
func (p *Proc) Kill() error {
	cmd, done := p.current()
	if done == nil || !isOpen(done) {
		return nil
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGKILL pid %d: %w", p.name, cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(reapLimit):
		return fmt.Errorf("%s: pid %d not reaped %v after SIGKILL", p.name, cmd.Process.Pid, reapLimit)
	}
}

func (p *Proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

func isOpen(ch chan struct{}) bool {
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// LogSize is the current size of the log, to show later only what was
// added after this point.
func (p *Proc) LogSize() int64 {
	st, err := os.Stat(p.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// LogTail returns the log from offset on, at most maxBytes from its end.
func (p *Proc) LogTail(offset int64, maxBytes int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if offset > int64(len(b)) || offset < 0 {
		offset = 0
	}
	b = b[offset:]
	if len(b) > maxBytes {
		b = append([]byte("...(cut)...\n"), b[len(b)-maxBytes:]...)
	}
	return string(b)
}
