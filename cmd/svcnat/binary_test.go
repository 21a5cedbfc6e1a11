package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds svcnat the way the Makefile does, with the version set
// by the linker, and runs it under its own name and as kube-proxy.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "svcnat")
	const v = "v9.8.7-6-gabcdef0-dirty"
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/svcnat/svcnat/internal/version.version="+v, "github.com/svcnat/svcnat/cmd/svcnat")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	kubeProxy := filepath.Join(dir, "kube-proxy")
	if err := os.Symlink(bin, kubeProxy); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		argv []string
		code int
		want string
	}{
		{[]string{bin, "--version"}, 0, "svcnat " + v + "\n"},
		{[]string{bin, "version"}, 0, "svcnat " + v + "\n"},
		{[]string{kubeProxy, "--help"}, 0, "Usage:\n  svcnat run [flags]"},
		{[]string{kubeProxy, "--no-such-flag"}, 2, "svcnat run: unknown flag: --no-such-flag"},
		{[]string{bin, "--hostname-override", "n1", "--no-such-flag"}, 2, "svcnat run: unknown flag: --no-such-flag"},
		{[]string{bin, "render", "extra-arg", "-f", "x.yaml"}, 2, `unexpected argument "extra-arg"`},
	}
	for _, tc := range tests {
		cmd := exec.Command(tc.argv[0], tc.argv[1:]...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("%s: exit %d, want %d; output lacks %q:\n%s", strings.Join(tc.argv, " "), code, tc.code, tc.want, out)
		}
	}
}

// TestBinaryLinksNoClientset: the binary talks to the API through
// agent/kubeclient's narrow client. client-go's generated clientset, its
// informer factory or its Event recorders would link and register every
// API group (the binary was 92 MB with them, 40 MB without), and their
// pages stay resident on every node.
func TestBinaryLinksNoClientset(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/svcnat/svcnat/cmd/svcnat").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	banned := []string{"k8s.io/client-go/kubernetes", "k8s.io/client-go/informers",
		"k8s.io/client-go/tools/events", "k8s.io/client-go/tools/record", "k8s.io/api/apps/v1"}
	for pkg := range strings.Lines(string(out)) {
		pkg = strings.TrimSpace(pkg)
		for _, b := range banned {
			if pkg == b || strings.HasPrefix(pkg, b+"/") {
				t.Errorf("svcnat links %s", pkg)
			}
		}
	}
}
