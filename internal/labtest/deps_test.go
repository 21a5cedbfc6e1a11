package labtest_test

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
)

// TestCommandsDoNotLinkTesting: no command links the testing package (a
// test helper imported by a non-test file would put it, and its flags,
// into a shipped binary), and the demo does not link client-go (which is
// why kubelab is a package of its own).
func TestCommandsDoNotLinkTesting(t *testing.T) {
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	commands := 0
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		commands++
		pkg, deps := f[0], f[1:]
		if slices.Contains(deps, "testing") {
			t.Errorf("%s links the testing package", pkg)
		}
		if strings.HasSuffix(pkg, "/cmd/svcnat-demo") && slices.ContainsFunc(deps, func(d string) bool {
			return strings.HasPrefix(d, "k8s.io/client-go/")
		}) {
			t.Errorf("%s links client-go", pkg)
		}
	}
	if commands < 5 {
		t.Errorf("go list found %d commands under cmd/, want at least 5:\n%s", commands, out)
	}
}
