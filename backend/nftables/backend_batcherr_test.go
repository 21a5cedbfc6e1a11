package nftables

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/synth"
)

// TestFailedBatchNamesTheRule sends a batch whose rule jumps to a chain
// that does not exist, through the backend's own emitter, to the fake
// kernel and (as root) to the kernel: the error must say which rule was
// refused, and nothing of the batch may stay behind.
func TestFailedBatchNamesTheRule(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		b, k := newFakeBackend(t)
		checkNamesTheRule(t, sendBrokenRule(b))
		if l := k.Listing(); l != "" {
			t.Errorf("failed batch left tables behind:\n%s", l)
		}
	})
	t.Run("kernel", func(t *testing.T) {
		ns := newNetNS(t)
		b := newBackend(t, ns)
		checkNamesTheRule(t, sendBrokenRule(b))
		if out, _ := nftIn(t, ns, "list", "tables"); strings.Contains(out, TableName) {
			t.Errorf("failed batch left a table behind:\n%s", out)
		}
	})
}

// sendBrokenRule sends a table whose one rule jumps to a missing chain.
func sendBrokenRule(b *Backend) error {
	tbl := &table{family: synth.IPv4}
	c := &chain{name: "svc-broken"}
	c.add("default/web:http/tcp", verdictStmt{goTo("no-such-chain")})
	e := newNLEmitter(b.batch)
	e.addTable(tbl)
	e.addChain(tbl, c)
	e.addRules(tbl, c)
	return b.kernel.Send(b.batch)
}

func checkNamesTheRule(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, unix.ENOENT) {
		t.Fatalf("err = %v, want ENOENT", err)
	}
	for _, want := range []string{"batch message 3 ", "add rule to chain svc-broken", `"default/web:http/tcp"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
