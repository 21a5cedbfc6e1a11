package nftables

import (
	"context"
	"testing"
)

// TestReconcileSkipsReadWhenNothingCommitted: a periodic reconcile after
// svcnat's own batch is answered by the ruleset generation alone; a commit
// by anyone else (here: an unrelated table) makes it read the kernel, and
// tampering with svcnat's table is still repaired.
func TestReconcileSkipsReadWhenNothingCommitted(t *testing.T) {
	ns := newNetNS(t)
	b := newBackend(t, ns)
	rs := handRuleset()
	mustApply(t, b, rs)
	reads := b.kernelReads

	b.Reconcile()
	if st := mustApply(t, b, rs); st.Changes != 0 || !st.Full {
		t.Fatalf("reconcile of an untouched kernel: %+v", st)
	}
	if b.kernelReads != reads {
		t.Errorf("read the kernel %d times although nothing was committed", b.kernelReads-reads)
	}

	if out, err := nftIn(t, ns, "add", "table", "ip", "someone-else"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b.Reconcile()
	if st := mustApply(t, b, rs); st.Changes != 0 {
		t.Errorf("another table changed, ours did not: %d changes", st.Changes)
	}
	if b.kernelReads == reads {
		t.Error("a foreign commit did not make the reconcile read the kernel")
	}

	if out, err := nftIn(t, ns, "flush", "chain", "ip", TableName, "services"); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	b.Reconcile()
	if st := mustApply(t, b, rs); st.Changes == 0 {
		t.Error("a flushed chain was not repaired")
	}
	if err := b.Cleanup(context.Background()); err != nil {
		t.Fatal(err)
	}
}
