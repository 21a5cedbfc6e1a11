package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// netnsDir is where iproute2 keeps the bind mounts of named namespaces.
const netnsDir = "/run/netns"

// cmdTimeout bounds every iproute2 invocation.
const cmdTimeout = 10 * time.Second

func nsPath(name string) string { return filepath.Join(netnsDir, name) }

// runIP runs `ip args...` with stdin as input (for -batch).
func runIP(stdin string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ipBatch runs the iproute2 commands (one per line, without the leading "ip")
// inside namespace ns in a single process.
func ipBatch(ns string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	if err := runIP(strings.Join(lines, "\n")+"\n", "-n", ns, "-batch", "-"); err != nil {
		return fmt.Errorf("configure %s: %w", ns, err)
	}
	return nil
}

func addNetns(name string) error {
	return runIP("", "netns", "add", name)
}

// delNetns deletes a named namespace; a missing one is not an error. On a
// loaded machine `ip netns delete` can outlast cmdTimeout (once at the end
// of an 8-node fleet run, with kube-proxy's 10k-Service tables in every
// node), so it is tried again rather than leaving the namespace behind.
func delNetns(name string) error {
	var err error
	for range 3 {
		if _, serr := os.Stat(nsPath(name)); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
		if err = runIP("", "netns", "delete", name); err == nil {
			return nil
		}
	}
	return err
}

// listNetns returns the names of all named namespaces.
func listNetns() ([]string, error) {
	entries, err := os.ReadDir(netnsDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", netnsDir, err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// sysctl is one /proc/sys/net setting.
type sysctl struct{ key, value string }

// setSysctls writes net sysctls inside h. /proc/sys/net resolves against the
// network namespace of the writing thread, and Do checks that thread's
// namespace before running, so the root namespace is never touched.
func (h *Host) setSysctls(settings []sysctl) error {
	return h.Do(func() error {
		for _, s := range settings {
			path := "/proc/sys/" + strings.ReplaceAll(s.key, ".", "/")
			if err := os.WriteFile(path, []byte(s.value), 0); err != nil {
				return fmt.Errorf("sysctl %s=%s in %s: %w", s.key, s.value, h.name, err)
			}
		}
		return nil
	})
}

// baseSysctls apply to every namespace: v6 addresses usable at once (no DAD)
// and no reverse-path filtering, which would drop asymmetric flows silently.
var baseSysctls = []sysctl{
	{"net.ipv6.conf.all.accept_dad", "0"},
	{"net.ipv6.conf.default.accept_dad", "0"},
	{"net.ipv4.conf.all.rp_filter", "0"},
	{"net.ipv4.conf.default.rp_filter", "0"},
}

// routerSysctls make a node forward. Redirects are off so that traffic
// routed through a node keeps going through it (the path under test).
var routerSysctls = []sysctl{
	{"net.ipv4.ip_forward", "1"},
	{"net.ipv6.conf.all.forwarding", "1"},
	{"net.ipv6.conf.default.forwarding", "1"},
	{"net.ipv4.conf.all.send_redirects", "0"},
	{"net.ipv4.conf.default.send_redirects", "0"},
}

// clientSysctls ignore redirects for the same reason.
var clientSysctls = []sysctl{
	{"net.ipv4.conf.all.accept_redirects", "0"},
	{"net.ipv4.conf.default.accept_redirects", "0"},
	{"net.ipv6.conf.all.accept_redirects", "0"},
	{"net.ipv6.conf.default.accept_redirects", "0"},
}
