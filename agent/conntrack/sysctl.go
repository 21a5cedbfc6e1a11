package conntrack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"k8s.io/klog/v2"
)

// Sysctls are kube-proxy's conntrack settings (its conntrack.* config).
// A nil or zero value leaves that setting as the kernel has it.
type Sysctls struct {
	// MaxPerCore and Min size nf_conntrack_max: max(MaxPerCore × CPUs,
	// Min), capped at 1Mi like kube-proxy. MaxPerCore nil or 0 leaves it.
	MaxPerCore *int32
	Min        *int32
	// TCPEstablishedTimeout and TCPCloseWaitTimeout set
	// nf_conntrack_tcp_timeout_established and _close_wait (whole seconds).
	TCPEstablishedTimeout *time.Duration
	TCPCloseWaitTimeout   *time.Duration
	// TCPBeLiberal sets nf_conntrack_tcp_be_liberal to 1 (false leaves it).
	TCPBeLiberal bool
	// UDPTimeout and UDPStreamTimeout set nf_conntrack_udp_timeout and
	// nf_conntrack_udp_timeout_stream (whole seconds).
	UDPTimeout       time.Duration
	UDPStreamTimeout time.Duration
}

// maxLimit caps the scaled nf_conntrack_max, as kube-proxy does, so that a
// machine with many cores does not reserve memory for nothing.
const maxLimit = 1 << 20

// Max returns the nf_conntrack_max cfg asks for on a machine with ncpu
// CPUs, or 0 to leave it as it is.
func (cfg Sysctls) Max(ncpu int) int {
	if cfg.MaxPerCore == nil || *cfg.MaxPerCore <= 0 {
		return 0
	}
	floor := 0
	if cfg.Min != nil {
		floor = int(*cfg.Min)
	}
	return min(max(int(*cfg.MaxPerCore)*ncpu, floor), maxLimit)
}

// Where the settings live. The /proc/sys/net ones belong to the network
// namespace of the thread that opens them; hashsize is a module parameter
// and nf_conntrack_max is global, read-only outside the initial namespace.
const (
	sysctlDir = "/proc/sys/net/netfilter/"
	hashsize  = "/sys/module/nf_conntrack/parameters/hashsize"
	// initNetNS is the network namespace of PID 1: the initial one, as
	// far as a node agent (hostNetwork, host PID view) can tell.
	initNetNS = "/proc/1/ns/net"
)

// perNamespace lists the settings of cfg that every network namespace has
// on its own, as sysctl name and value.
func (cfg Sysctls) perNamespace() [][2]string {
	var out [][2]string
	secs := func(name string, d time.Duration) {
		if d > 0 {
			out = append(out, [2]string{name, strconv.Itoa(int(d / time.Second))})
		}
	}
	if cfg.TCPEstablishedTimeout != nil {
		secs("nf_conntrack_tcp_timeout_established", *cfg.TCPEstablishedTimeout)
	}
	if cfg.TCPCloseWaitTimeout != nil {
		secs("nf_conntrack_tcp_timeout_close_wait", *cfg.TCPCloseWaitTimeout)
	}
	if cfg.TCPBeLiberal {
		out = append(out, [2]string{"nf_conntrack_tcp_be_liberal", "1"})
	}
	secs("nf_conntrack_udp_timeout", cfg.UDPTimeout)
	secs("nf_conntrack_udp_timeout_stream", cfg.UDPStreamTimeout)
	return out
}

// Apply sets cfg inside the network namespace at netnsPath (empty: the
// caller's), as kube-proxy does at start. The per-namespace timeouts are
// written when they differ. nf_conntrack_max (raised, never lowered) and
// the module's hashsize (raised to max/4) are global: they are set only
// when the namespace is the initial one; elsewhere they are left as they
// are and logged once. Every setting is tried; the errors are joined.
func Apply(netnsPath string, cfg Sysctls, ncpu int, logger klog.Logger) error {
	return inNetNS(netnsPath, func(initial bool) error {
		var errs []error
		if want := cfg.Max(ncpu); want > 0 {
			errs = append(errs, applyMax(want, initial, logger))
		}
		for _, s := range cfg.perNamespace() {
			errs = append(errs, setIfDifferent(s[0], s[1], logger))
		}
		return errors.Join(errs...)
	})
}

// applyMax raises nf_conntrack_max to want, and hashsize to want/4.
func applyMax(want int, initial bool, logger klog.Logger) error {
	writable := isWritable(sysctlDir + "nf_conntrack_max")
	if !initial || !writable {
		logger.Info("Not in the initial network namespace: nf_conntrack_max and the conntrack hashsize are global and left as they are",
			"wanted", want, "writable", writable)
		return nil
	}
	cur, err := readInt(sysctlDir + "nf_conntrack_max")
	if err != nil || cur < want {
		if err := write(sysctlDir+"nf_conntrack_max", strconv.Itoa(want), logger); err != nil {
			return err
		}
	}
	size, err := readInt(hashsize)
	if err != nil {
		return fmt.Errorf("conntrack hashsize: %w", err)
	}
	if size < want/4 {
		return write(hashsize, strconv.Itoa(want/4), logger)
	}
	return nil
}

// setIfDifferent writes one per-namespace sysctl when it has another value.
func setIfDifferent(name, value string, logger klog.Logger) error {
	path := sysctlDir + name
	if cur, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(cur)) == value {
		return nil
	} else if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sysctl net.netfilter.%s: not there (is the nf_conntrack module loaded?)", name)
	}
	return write(path, value, logger)
}

func write(path, value string, logger klog.Logger) error {
	logger.Info("Set conntrack setting", "path", path, "value", value)
	if err := os.WriteFile(path, []byte(value), 0); err != nil {
		return fmt.Errorf("set %s to %s: %w", path, value, err)
	}
	return nil
}

func readInt(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// isWritable reports whether the file's mode lets anyone write it: the
// kernel makes nf_conntrack_max read-only (0444) outside the initial
// namespace, and root cannot write a read-only sysctl either.
func isWritable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().Perm()&0o222 != 0
}

// inNetNS runs fn on a locked OS thread inside the network namespace at
// path ("" for the caller's own), telling it whether that namespace is
// the initial one. /proc/sys/net resolves against the namespace of the
// thread that opens a file, so fn's writes land in that namespace only.
func inNetNS(path string, fn func(initial bool) error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// The thread is never unlocked: the runtime ends it with this
		// goroutine, so no other goroutine inherits its namespace.
		done <- enterAndRun(path, fn)
	}()
	return <-done
}

func enterAndRun(path string, fn func(initial bool) error) error {
	if path != "" {
		target, err := netns.GetFromPath(filepath.Clean(path))
		if err != nil {
			return fmt.Errorf("conntrack sysctls: open network namespace %s: %w", path, err)
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			return fmt.Errorf("conntrack sysctls: enter network namespace %s: %w", path, err)
		}
		if err := sameNamespace(int(target), "/proc/thread-self/ns/net"); err != nil {
			return fmt.Errorf("conntrack sysctls: enter network namespace %s: %w", path, err)
		}
	}
	initial := sameNamespaceAsPath("/proc/thread-self/ns/net", initNetNS)
	return fn(initial)
}

// sameNamespace checks that the namespace file at path is the one fd refers to.
func sameNamespace(fd int, path string) error {
	var want, got unix.Stat_t
	if err := unix.Fstat(fd, &want); err != nil {
		return err
	}
	if err := unix.Stat(path, &got); err != nil {
		return err
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return errors.New("the thread is not in the expected namespace")
	}
	return nil
}

// sameNamespaceAsPath reports whether two namespace files are the same
// namespace (false when either cannot be read).
func sameNamespaceAsPath(a, b string) bool {
	var sa, sb unix.Stat_t
	return unix.Stat(a, &sa) == nil && unix.Stat(b, &sb) == nil && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// OnlineCPUs counts the node's online CPUs (/sys/devices/system/cpu/online)
// for sizing nf_conntrack_max, which is host-wide: unlike runtime.NumCPU it
// does not shrink with the process's CPU affinity. It falls back to
// runtime.NumCPU.
func OnlineCPUs() int {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if n, ok := countCPUList(strings.TrimSpace(string(b))); err == nil && ok && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

// countCPUList counts the CPUs of a list like "0-3,8,10-11".
func countCPUList(s string) (int, bool) {
	n := 0
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return 0, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return 0, false
			}
		}
		n += b - a + 1
	}
	return n, true
}
