package nftables

import (
	"strings"
	"testing"

	"github.com/svcnat/svcnat/synth"
)

// TestFailedBatchNamesTheRule sends a batch whose rule jumps to a chain
// that does not exist: the error must say which rule the kernel refused,
// and nothing of the batch may stay behind.
func TestFailedBatchNamesTheRule(t *testing.T) {
	ns := newNetNS(t)
	b := newBackend(t, ns)
	tbl := &table{family: synth.IPv4}
	c := &chain{name: "svc-broken"}
	c.add("default/web:http/tcp", verdictStmt{goTo("no-such-chain")})
	e := newNLEmitter(b.batch)
	e.addTable(tbl)
	e.addChain(tbl, c)
	e.addRules(tbl, c)
	err := b.kernel.Send(b.batch)
	if err == nil {
		t.Fatal("a rule jumping to a missing chain was accepted")
	}
	t.Log(err)
	for _, want := range []string{"add rule to chain svc-broken", `"default/web:http/tcp"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if out, _ := nftIn(t, ns, "list", "tables"); strings.Contains(out, TableName) {
		t.Errorf("failed batch left a table behind:\n%s", out)
	}
}
