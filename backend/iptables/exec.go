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

// exec runs bin with args and stdin (nil: none) inside the namespace and
// returns its standard output; stderr goes into the error. stdin is a
// reader so that a restore script (~40 MB at 10k Services) is streamed
// into the pipe without another copy.
func (r runner) exec(ctx context.Context, stdin io.Reader, bin string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	err := r.do(func() error {
		cmd := exec.CommandContext(ctx, bin, args...)
		if stdin != nil {
			cmd.Stdin = stdin
		}
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd.Run()
	})
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
