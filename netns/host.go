package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Host is one network namespace of a Lab: the client, a node, a pod or the LAN.
type Host struct {
	lab   *Lab
	name  string
	fd    int
	addrs []netip.Addr
}

// Name returns the namespace name, as shown by `ip netns list`.
func (h *Host) Name() string { return h.name }

// Path returns the bind mount of the namespace, /run/netns/NAME.
func (h *Host) Path() string { return nsPath(h.name) }

// Fd returns an open file descriptor of the namespace, valid until the Lab is
// closed. It suits APIs such as nftables.WithNetNSFd or netlink.NewHandleAt.
// Do not close it.
func (h *Host) Fd() int { return h.fd }

// Addrs returns the host's own addresses: LAN addresses for the client and the
// nodes, pod IPs for pods. Echo servers listen on these.
func (h *Host) Addrs() []netip.Addr { return append([]netip.Addr(nil), h.addrs...) }

// IPv4 returns the host's first IPv4 address, or the zero Addr.
func (h *Host) IPv4() netip.Addr { return h.addr(4) }

// IPv6 returns the host's first IPv6 address, or the zero Addr.
func (h *Host) IPv6() netip.Addr { return h.addr(6) }

func (h *Host) addr(family int) netip.Addr {
	for _, a := range h.addrs {
		if familyOf(a) == family {
			return a
		}
	}
	return netip.Addr{}
}

// String returns the namespace name.
func (h *Host) String() string { return h.name }

// Command returns a command that runs argv inside the namespace through
// `ip netns exec`. Use it for long-running processes (an agent); the process
// is killed when ctx is done.
func (h *Host) Command(ctx context.Context, argv ...string) *exec.Cmd {
	args := append([]string{"netns", "exec", h.name}, argv...)
	return exec.CommandContext(ctx, "ip", args...)
}

// Exec runs argv inside the namespace and returns its standard output.
// A failure includes the command's standard error.
func (h *Host) Exec(ctx context.Context, argv ...string) (string, error) {
	if len(argv) == 0 {
		return "", errors.New("netns: Exec without a command")
	}
	cmd := h.Command(ctx, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("in %s: %s: %w: %s",
			h.name, strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Do runs fn on an OS thread switched into the namespace and returns its
// error. Sockets created by fn stay in the namespace, so they may be used
// afterwards from any goroutine. Goroutines started by fn do NOT run in the
// namespace. A panic in fn is re-raised in the caller.
func (h *Host) Do(fn func() error) error {
	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() { done <- r }()
		defer func() { r.panic = recover() }()
		r.err = doInNetns(h.fd, h.name, fn)
	}()
	r := <-done
	if r.panic != nil {
		panic(r.panic)
	}
	return r.err
}

// doInNetns must run on its own goroutine: if the thread cannot be switched
// back to its original namespace it stays locked, and the Go runtime
// terminates it when the goroutine exits, so no other goroutine ever runs in
// the wrong namespace.
func doInNetns(target int, name string, fn func() error) (err error) {
	runtime.LockOSThread()
	orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open current netns: %w", err)
	}
	defer unix.Close(orig)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter netns %s: %w", name, err)
	}
	defer func() {
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore netns after %s: %w", name, rerr))
			return // keep the thread locked: it dies with this goroutine
		}
		runtime.UnlockOSThread()
	}()
	if err := checkCurrentNetns(target); err != nil {
		return fmt.Errorf("enter netns %s: %w", name, err)
	}
	return fn()
}

// checkCurrentNetns verifies that the calling thread is in the namespace of
// fd. It is a guard: code run by Do writes sysctls and must never touch the
// root namespace.
func checkCurrentNetns(fd int) error {
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return err
	}
	if err := unix.Stat("/proc/thread-self/ns/net", &got); err != nil {
		return err
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return errors.New("thread is not in the expected namespace")
	}
	return nil
}
