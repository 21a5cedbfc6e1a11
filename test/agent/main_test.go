package agent

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds compiling svcnat (a cold cache on a busy machine).
const buildTimeout = 5 * time.Minute

var (
	svcnatBin string // the compiled binary; empty without root
	buildErr  error
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "svcnat-agent-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "temp dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		svcnatBin, buildErr = buildSvcnat(filepath.Join(dir, "svcnat"))
	}
	return m.Run()
}

// buildSvcnat compiles ./cmd/svcnat of this module into out.
func buildSvcnat(out string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command: %w", err)
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", out, "./cmd/svcnat")
	cmd.Dir = filepath.Join("..", "..") // the module root; go test runs in the package folder
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/svcnat: %w\n%s", err, msg)
	}
	return out, nil
}

// needSvcnat skips without root and fails when the build failed.
func needSvcnat(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agent programs netfilter inside network namespaces")
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return svcnatBin
}
