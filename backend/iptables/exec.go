package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// runner runs commands inside one network namespace.
//
// The xtables binaries act on the network namespace of their process, and
// a child inherits the namespace of the OS thread that forks it. So the
// runner locks a goroutine to its thread, moves that thread into the
// namespace, and forks from there; go-iptables, which execs the iptables
// binary itself, is called the same way.
type runner struct {
	netns string // path; "" is the caller's namespace
}

// do runs fn on a thread inside the runner's namespace.
func (r runner) do(fn func() error) error {
	if r.netns == "" {
		return fn()
	}
	errc := make(chan error, 1)
	go func() { errc <- r.doLocked(fn) }()
	return <-errc
}

func (r runner) doLocked(fn func() error) error {
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own network namespace: %w", err)
	}
	defer orig.Close()
	target, err := os.Open(r.netns)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", r.netns, err)
	}
	ferr := fn()
	if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
		// Stay locked: the runtime then ends this thread with the
		// goroutine instead of reusing it in the wrong namespace.
		return errors.Join(ferr, fmt.Errorf("leave network namespace %s: %w", r.netns, err))
	}
	runtime.UnlockOSThread()
	return ferr
}

// Bounded waits. iptables-legacy serialises writers with an flock on the
// xtables lock file (/run/xtables.lock, or $XTABLES_LOCKFILE, which the
// children inherit); a restore waits for it at most lockWait, like
// kube-proxy's -w 5, then fails with an error naming the lock, and the
// agent's runner retries the sync. Every command also runs under a
// deadline (execTimeout, unless the caller's context is shorter), so a
// hung binary cannot stall a sync for ever: a restore of 10k Services
// with iptables-nft takes ~20 s, so the deadline is generous.
const (
	lockWait    = 5 * time.Second
	execTimeout = 5 * time.Minute
)

// waitArg is the restore flag that bounds the wait for the xtables lock.
var waitArg = fmt.Sprintf("--wait=%d", int(lockWait/time.Second))

// lockFile is the xtables lock file the binaries use.
func lockFile() string {
	if f := os.Getenv("XTABLES_LOCKFILE"); f != "" {
		return f
	}
	return "/run/xtables.lock"
}

// exec runs bin with args and stdin (nil: none) inside the namespace and
// returns its standard output; stderr goes into the error. stdin is a
// reader so that a restore script (~40 MB at 10k Services) is streamed
// into the pipe without another copy.
func (r runner) exec(ctx context.Context, stdin io.Reader, bin string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := r.do(func() error {
		cmd := exec.CommandContext(ctx, bin, args...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.WaitDelay = time.Second // a child that keeps the pipes open
		return cmd.Run()
	})
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "xtables lock") {
			return nil, fmt.Errorf("%s: the xtables lock %s is held by another process (gave up after %v): %s",
				bin, lockFile(), lockWait, msg)
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		return nil, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}
