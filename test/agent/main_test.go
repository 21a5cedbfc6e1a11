package agent

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
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
		svcnatBin, buildErr = buildSvcnat(dir)
	}
	return m.Run()
}

// buildSvcnat compiles this module's ./cmd/svcnat into dir (SVCNAT_BIN
// overrides).
func buildSvcnat(dir string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	root, err := labtest.RepoRoot()
	if err != nil {
		return "", err
	}
	return labtest.BuildSvcnat(ctx, root, dir)
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
