package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Lab is one virtual cluster: a LAN bridge joining an external client and
// two nodes, plus the pods added to the nodes. All of it lives in network
// namespaces named <prefix>-<role>; Close deletes them.
type Lab struct {
	// LAN holds the bridge br0 that joins Client, Node and Node2 (ports
	// "client", "node", "node2"). It has no addresses.
	LAN *Host
	// Client is the external client (192.168.1.10 by default). It routes the
	// service and pod CIDRs via Node, like an external router would.
	Client *Host
	// Node is the node under test (192.168.1.100 by default); pods added with
	// AddPod hang off it. Forwarding is on.
	Node *Host
	// Node2 is the second node (192.168.1.101 by default); pods added with
	// AddRemotePod hang off it. Forwarding is on.
	Node2 *Host

	opts   Options
	prefix string

	mu      sync.Mutex
	hosts   []*Host
	pods    map[string]*Pod
	vethSeq int
	closers map[io.Closer]struct{}
	closed  bool
	closeMu sync.Mutex
	err     error
}

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// New builds the standard topology in fresh namespaces named
// <prefix>-<6 random hex>-<role>. prefix must contain "svcnat"; "" means
// "svcnat". The caller must call Close, also on failure paths (a deferred
// Close is enough). On error nothing is left behind.
func New(prefix string, opts ...Option) (*Lab, error) {
	o := Options{}
	for _, opt := range opts {
		opt(&o)
	}
	if prefix != "" {
		o.Prefix = prefix
	}
	return build(o.withDefaults())
}

// Supported reports why a Lab cannot be built here, or nil: it needs root
// and the ip binary from iproute2.
func Supported() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("needs iproute2: %w", err)
	}
	return nil
}

func build(o Options) (*Lab, error) {
	if !strings.Contains(o.Prefix, "svcnat") || !prefixRE.MatchString(o.Prefix) {
		return nil, fmt.Errorf("netns: prefix %q must contain \"svcnat\" and only [A-Za-z0-9_.-]", o.Prefix)
	}
	for _, n := range []NodeOptions{o.Node, o.Node2} {
		if err := n.checkNames(); err != nil {
			return nil, fmt.Errorf("netns: %w", err)
		}
	}
	suffix, err := randomHex(3)
	if err != nil {
		return nil, err
	}
	l := &Lab{
		opts:    o,
		prefix:  o.Prefix + "-" + suffix,
		pods:    map[string]*Pod{},
		closers: map[io.Closer]struct{}{},
	}
	if err := claim(l.prefix); err != nil {
		return nil, err
	}
	if err := l.buildTopology(); err != nil {
		return nil, errors.Join(fmt.Errorf("netns: build lab %s: %w", l.prefix, err), l.Close())
	}
	return l, nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("netns: random prefix: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Prefix returns the unique prefix of every namespace of this lab,
// e.g. "svcnat-1a2b3c". Sweep(lab.Prefix()) removes them.
func (l *Lab) Prefix() string { return l.prefix }

// Options returns the effective options (defaults filled in).
func (l *Lab) Options() Options { return l.opts }

// Hosts returns every namespace of the lab in creation order.
func (l *Lab) Hosts() []*Host {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*Host(nil), l.hosts...)
}

// newHost creates the namespace <prefix>-<role>, opens it and applies the
// sysctls that must hold before any interface appears in it.
func (l *Lab) newHost(role string, addrs []netip.Addr, extra []sysctl) (*Host, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("netns: lab is closed")
	}
	l.mu.Unlock()
	h := &Host{lab: l, name: l.prefix + "-" + role, fd: -1, addrs: addrs}
	if err := addNetns(h.name); err != nil {
		return nil, err
	}
	fd, err := unix.Open(h.Path(), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", h.Path(), err)
	}
	h.fd = fd
	l.mu.Lock()
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	if err := h.setSysctls(append(append([]sysctl(nil), baseSysctls...), extra...)); err != nil {
		return nil, err
	}
	return h, nil
}

// track registers c to be closed by Lab.Close; it returns false when the lab
// is already closed.
func (l *Lab) track(c io.Closer) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.closers[c] = struct{}{}
	return true
}

func (l *Lab) untrack(c io.Closer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.closers, c)
}

// Close stops every server and connection of the lab and deletes all its
// namespaces. It is idempotent and safe to call after a failed build.
func (l *Lab) Close() error {
	l.closeMu.Lock()
	defer l.closeMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.err
	}
	l.closed = true
	closers, hosts := l.closers, l.hosts
	l.closers = nil
	l.mu.Unlock()

	var errs []error
	for c := range closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range hosts {
		if h.fd >= 0 {
			unix.Close(h.fd)
			h.fd = -1
		}
	}
	sweepErr := Sweep(l.prefix + "-")
	if sweepErr == nil {
		release(l.prefix)
	}
	errs = append(errs, sweepErr)
	l.err = errors.Join(errs...)
	return l.err
}

// Sweep deletes every named namespace whose name starts with prefix, e.g. the
// leftovers of a crashed run ("svcnat-1a2b3c-" or "svcnat-demo-"). prefix
// must contain "svcnat". On a shared machine never sweep the bare "svcnat"
// prefix: it would delete the labs of tests running concurrently.
func Sweep(prefix string) error {
	if !strings.Contains(prefix, "svcnat") {
		return fmt.Errorf("netns: refusing to sweep prefix %q without \"svcnat\"", prefix)
	}
	names, err := listNetns()
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if strings.HasPrefix(name, prefix) {
			if err := delNetns(name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
