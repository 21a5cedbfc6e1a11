package labtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// modulePath is the module whose root RepoRoot looks for.
const modulePath = "github.com/svcnat/svcnat"

// versionVar is the variable the Makefile's LDFLAGS stamp.
const versionVar = modulePath + "/internal/version.version"

// RepoRoot returns the svcnat module's root: the nearest folder, from the
// working directory up, whose go.mod declares the module. go test runs a
// test in its package's folder, so this works from any package.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && declares(b, modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func declares(gomod []byte, module string) bool {
	for line := range strings.Lines(string(gomod)) {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
			return f[1] == module
		}
	}
	return false
}

// Version is what the Makefile stamps into the binaries: `git describe
// --tags --always --dirty` of root, else the VERSION file.
func Version(ctx context.Context, root string) (string, error) {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if v := strings.TrimSpace(string(out)); err == nil && v != "" {
		return v, nil
	}
	b, ferr := os.ReadFile(filepath.Join(root, "VERSION"))
	if ferr != nil {
		return "", errors.Join(fmt.Errorf("git describe: %v", err), ferr)
	}
	return strings.TrimSpace(string(b)), nil
}

// GoBuild runs `go build -o out pkg` in moduleDir with ldflags (none when
// empty); a failure carries the compiler's output.
func GoBuild(ctx context.Context, moduleDir, pkg, out, ldflags string) error {
	args := []string{"build", "-o", out}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = moduleDir
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg.String())
	}
	return nil
}

// built remembers the binaries BuildSvcnat made in this process.
var built struct {
	mu   sync.Mutex
	bins map[string]bool
}

// BuildSvcnat returns the svcnat binary under test: $SVCNAT_BIN when set,
// else root's ./cmd/svcnat built into dir/svcnat with the Makefile's
// version stamp. A second call for the same dir reuses the first build.
func BuildSvcnat(ctx context.Context, root, dir string) (string, error) {
	if bin := os.Getenv("SVCNAT_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	out := filepath.Join(dir, "svcnat")
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.bins[out] {
		return out, nil
	}
	version, err := Version(ctx, root)
	if err != nil {
		return "", err
	}
	if err := GoBuild(ctx, root, "./cmd/svcnat", out, "-X "+versionVar+"="+version); err != nil {
		return "", err
	}
	if built.bins == nil {
		built.bins = map[string]bool{}
	}
	built.bins[out] = true
	return out, nil
}

// KubeAPIServer returns the kube-apiserver binary: $KUBE_APISERVER, else
// what tools/kubernetes/build.sh leaves in root's .cache/bin.
func KubeAPIServer(root string) (string, error) {
	return kubeBinary(root, "KUBE_APISERVER", "kube-apiserver")
}

// KubeProxy returns the upstream kube-proxy binary: $KUBE_PROXY, else
// root's .cache/bin/kube-proxy.
func KubeProxy(root string) (string, error) {
	return kubeBinary(root, "KUBE_PROXY", "kube-proxy")
}

func kubeBinary(root, envVar, name string) (string, error) {
	bin := os.Getenv(envVar)
	if bin == "" {
		bin = filepath.Join(root, ".cache", "bin", name)
	}
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("no %s binary at %s (build it with tools/kubernetes/build.sh, or set %s)", name, bin, envVar)
	}
	return bin, nil
}

// Etcd returns the etcd binary: $ETCD, else root's .cache/bin/etcd, which
// tools/kubernetes/build.sh builds at the version Kubernetes is built
// against. A distribution's older etcd (Debian's 3.4) lacks watch progress
// requests, and the API server then lists where a cluster streams.
func Etcd(root string) (string, error) {
	return kubeBinary(root, "ETCD", "etcd")
}
