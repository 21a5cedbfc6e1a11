package labtest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
)

func TestRepoRoot(t *testing.T) {
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "svcnat", "main.go")); err != nil {
		t.Errorf("root %s: %v", root, err)
	}
}

// TestBuildSvcnat builds the binary as the Makefile does and asks it its
// version; a second call reuses the build.
func TestBuildSvcnat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/svcnat")
	}
	t.Setenv("SVCNAT_BIN", "")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	want, err := labtest.Version(ctx, root)
	if err != nil || want == "" {
		t.Fatalf("version %q: %v", want, err)
	}
	dir := t.TempDir()
	bin, err := labtest.BuildSvcnat(ctx, root, dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(ctx, bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Errorf("%s --version: %q %v, want %s", bin, out, err, want)
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}
	again, err := labtest.BuildSvcnat(ctx, root, dir)
	if err != nil || again != bin {
		t.Errorf("second build: %s %v", again, err)
	}
	if _, err := os.Stat(again); err == nil {
		t.Error("the second call built again")
	}
}

func TestBinaryOverrides(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SVCNAT_BIN", fake)
	if bin, err := labtest.BuildSvcnat(t.Context(), dir, dir); err != nil || bin != fake {
		t.Errorf("SVCNAT_BIN: %s %v", bin, err)
	}
	t.Setenv("KUBE_APISERVER", fake)
	t.Setenv("KUBE_PROXY", "")
	if bin, err := labtest.KubeAPIServer(dir); err != nil || bin != fake {
		t.Errorf("KUBE_APISERVER: %s %v", bin, err)
	}
	if _, err := labtest.KubeProxy(dir); err == nil || !strings.Contains(err.Error(), ".cache/bin/kube-proxy") || !strings.Contains(err.Error(), "KUBE_PROXY") {
		t.Errorf("no kube-proxy: %v", err)
	}
	t.Setenv("ETCD", fake)
	if bin, err := labtest.Etcd(dir); err != nil || bin != fake {
		t.Errorf("ETCD: %s %v", bin, err)
	}
	t.Setenv("ETCD", "")
	if _, err := labtest.Etcd(dir); err == nil || !strings.Contains(err.Error(), ".cache/bin/etcd") || !strings.Contains(err.Error(), "ETCD") {
		t.Errorf("no etcd: %v", err)
	}
}
