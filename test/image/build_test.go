//go:build image

package image

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReproducible: two `make image` of the same tree give the same bytes,
// hence the same digest.
func TestReproducible(t *testing.T) {
	needImage(t)
	first, err := os.ReadFile(built.first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := os.ReadFile(built.second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatalf("two builds differ: %s and %s (%d and %d bytes)", built.first, built.second, len(first), len(second))
	}
	t.Logf("image %s, %d bytes, built twice alike", built.digest, len(first))
}

// TestConfig: what the image says about itself.
func TestConfig(t *testing.T) {
	needImage(t)
	cfg := built.config
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/svcnat"}) || !slices.Equal(cfg.Config.Cmd, []string{"run"}) {
		t.Errorf("entrypoint %v cmd %v", cfg.Config.Entrypoint, cfg.Config.Cmd)
	}
	labels := cfg.Config.Labels
	for key, want := range map[string]string{
		"org.opencontainers.image.version":  built.version,
		"org.opencontainers.image.revision": built.revision,
		"org.opencontainers.image.source":   "https://github.com/svcnat/svcnat",
	} {
		if labels[key] != want {
			t.Errorf("label %s = %q, want %q", key, labels[key], want)
		}
	}
	if cfg.OS != "linux" || cfg.Architecture == "" {
		t.Errorf("platform %s/%s", cfg.OS, cfg.Architecture)
	}
	if !slices.ContainsFunc(cfg.Config.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=") }) {
		t.Errorf("no PATH in %v", cfg.Config.Env)
	}
}

// TestFiles: the binary, its kube-proxy name, and iptables with the nft
// flavour as the default and the legacy one by name, all runnable in the
// image's root.
func TestFiles(t *testing.T) {
	needImage(t)
	links := map[string]string{
		"usr/local/bin/kube-proxy":   "svcnat",
		"usr/sbin/iptables":          "/etc/alternatives/iptables",
		"etc/alternatives/iptables":  "/usr/sbin/iptables-nft",
		"usr/sbin/ip6tables-restore": "/etc/alternatives/ip6tables-restore",
	}
	for link, want := range links {
		if got, err := os.Readlink(filepath.Join(built.rootfs, link)); err != nil || got != want {
			t.Errorf("/%s -> %q (%v), want -> %q", link, got, err, want)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status.d/iptables", "var/lib/dpkg/status.d/libc6", "usr/share/doc/iptables/copyright"} {
		if _, err := os.Stat(filepath.Join(built.rootfs, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(built.rootfs, "usr/share/man")); err == nil {
		t.Error("manual pages in the image")
	}
	for _, argv := range [][]string{
		{"/usr/local/bin/svcnat", "version"},
		{"/usr/local/bin/kube-proxy", "--version"}, // kube-proxy's spelling: the link is `svcnat run`
		{"/usr/sbin/iptables", "--version"},
		{"/usr/sbin/iptables-legacy-save", "--version"},
		{"/usr/sbin/ip6tables-nft-restore", "--version"},
	} {
		out, err := exec.Command("chroot", append([]string{built.rootfs}, argv...)...).CombinedOutput()
		t.Logf("%s: %s", strings.Join(argv, " "), bytes.TrimSpace(out))
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	out, _ := exec.Command("chroot", built.rootfs, "/usr/local/bin/svcnat", "version").Output()
	if !strings.Contains(string(out), built.version) {
		t.Errorf("svcnat version printed %q, want %s", out, built.version)
	}
}
