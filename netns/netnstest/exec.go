package netnstest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// ToolTimeout bounds one run of a kernel tool (nft, iptables-restore) in
// Run. Loading a capped fuzz input takes well under a second; a run this
// long means the tool is stuck (a lock, a wedged netlink socket), which
// would otherwise block the fuzz worker forever.
const ToolTimeout = 30 * time.Second

// Run runs argv inside the network namespace at ns (nsenter --net, never
// the root namespace) with stdin as its input, and returns its combined
// output. Every run is bounded by ToolTimeout. A timeout is retried once
// and is a failure only if it repeats: on a loaded machine one slow run is
// noise, two in a row are a hang. Each test process uses its own
// XTABLES_LOCKFILE, so parallel fuzz workers do not queue on one lock.
func Run(t testing.TB, ns string, stdin []byte, argv ...string) (string, error) {
	t.Helper()
	env := append(os.Environ(), "XTABLES_LOCKFILE="+lockFile())
	args := append([]string{"--net=" + ns, "--"}, argv...)
	for attempt := 1; ; attempt++ {
		out, err := runBounded(env, stdin, args)
		if !errors.Is(err, context.DeadlineExceeded) {
			return out, err
		}
		if attempt == 2 {
			t.Fatalf("%s timed out twice (%s each) in %s", argv[0], ToolTimeout, ns)
		}
		t.Logf("%s timed out after %s in %s; retrying once", argv[0], ToolTimeout, ns)
	}
}

func runBounded(env []string, stdin []byte, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", args...)
	cmd.Env = env
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.WaitDelay = time.Second // the tool's children must not hold the pipes open
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), ctx.Err()
	}
	return string(out), err
}

// lockFile is this process's xtables lock file: one per test binary (one
// per fuzz worker), in the temporary directory, so that it is never the
// system's /run/xtables.lock either.
func lockFile() string {
	return filepath.Join(os.TempDir(), "svcnat-xtables-"+strconv.Itoa(os.Getpid())+".lock")
}
