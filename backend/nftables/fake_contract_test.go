package nftables

import (
	"errors"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/backend/nftables/internal/nfnlfake"
)

// The batches below are refused by the kernel; the fake must refuse them
// with the same errno. Without root only the fake runs; as root every
// case also runs against the kernel in a scratch namespace, which keeps
// the fake honest. fakeOnly marks where the fake is deliberately
// stricter than a current kernel, and says why.
var (
	ctTable  = &nftables.Table{Name: "contract", Family: nftables.TableFamilyIPv4}
	ctAccept = nftables.ChainPolicyAccept
	ctPre    = &nftables.Chain{Name: "pre", Table: ctTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest, Policy: &ctAccept}
	ctSvc   = &nftables.Chain{Name: "svc", Table: ctTable}
	ctOther = &nftables.Chain{Name: "other", Table: ctTable}
	ctAddrs = &nftables.Set{Name: "addrs", Table: ctTable, KeyType: nftables.TypeIPAddr}
	ctVmap  = &nftables.Set{Name: "vmap", Table: ctTable, KeyType: nftables.TypeIPAddr, IsMap: true, DataType: nftables.TypeVerdict}
	ctKey   = []byte{10, 0, 0, 1}
)

// contractSetup: pre jumps to svc, which looks addrs up; vmap sends
// 10.0.0.1 to other.
func contractSetup(t *testing.T, c *nftables.Conn) {
	c.AddTable(ctTable)
	for _, ch := range []*nftables.Chain{ctPre, ctSvc, ctOther} {
		c.AddChain(ch)
	}
	if err := c.AddSet(ctAddrs, []nftables.SetElement{{Key: ctKey}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddSet(ctVmap, []nftables.SetElement{{Key: ctKey, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "other"}}}); err != nil {
		t.Fatal(err)
	}
	c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctPre, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "svc"}}})
	c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: ctAddrs.Name}}})
}

var contractCases = []struct {
	name     string
	bad      func(c *nftables.Conn)
	errno    syscall.Errno
	fakeOnly string
}{
	{name: "delete a missing chain", bad: func(c *nftables.Conn) { c.DelChain(&nftables.Chain{Name: "nope", Table: ctTable}) }, errno: unix.ENOENT},
	{name: "delete a chain jumped to", bad: func(c *nftables.Conn) { c.FlushChain(ctSvc); c.DelChain(ctSvc) }, errno: unix.EBUSY},
	{name: "delete a chain a map element goes to", bad: func(c *nftables.Conn) { c.DelChain(ctOther) }, errno: unix.EBUSY},
	{name: "delete a chain with rules", bad: func(c *nftables.Conn) { c.FlushChain(ctPre); c.DelChain(ctSvc) }, errno: unix.EBUSY,
		fakeOnly: "current kernels delete the rules of a chain nothing else refers to; the planner flushes first, as older kernels need"},
	{name: "delete a set a rule uses", bad: func(c *nftables.Conn) { c.DelSet(ctAddrs) }, errno: unix.EBUSY},
	{name: "delete a missing element", bad: func(c *nftables.Conn) {
		_ = c.SetDeleteElements(ctAddrs, []nftables.SetElement{{Key: []byte{10, 0, 0, 9}}})
	}, errno: unix.ENOENT},
	{name: "change a map element's verdict", bad: func(c *nftables.Conn) {
		_ = c.SetAddElements(ctVmap, []nftables.SetElement{{Key: ctKey, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "svc"}}})
	}, errno: unix.EEXIST},
	{name: "a map element to a missing chain", bad: func(c *nftables.Conn) {
		_ = c.SetAddElements(ctVmap, []nftables.SetElement{{Key: []byte{10, 0, 0, 9}, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "nope"}}})
	}, errno: unix.ENOENT},
	{name: "a rule looking up a missing set", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: "nope"}}})
	}, errno: unix.ENOENT},
	{name: "a rule jumping to a missing chain", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictGoto, Chain: "nope"}}})
	}, errno: unix.ENOENT},
	{name: "a rule jumping to a base chain", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "pre"}}})
	}, errno: unix.EOPNOTSUPP},
	{name: "a loop", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "svc"}}})
	}, errno: unix.EMLINK},
	{name: "masquerade in prerouting", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{&expr.Masq{}}})
	}, errno: unix.EOPNOTSUPP},
	{name: "reject in prerouting", bad: func(c *nftables.Conn) {
		c.AddRule(&nftables.Rule{Table: ctTable, Chain: ctSvc, Exprs: []expr.Any{&expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3}}})
	}, errno: unix.EOPNOTSUPP,
		fakeOnly: "recent kernels allow reject in prerouting; svcnat keeps it to input, forward and output, which every kernel allows"},
	{name: "a chain in a missing table", bad: func(c *nftables.Conn) {
		c.AddChain(&nftables.Chain{Name: "x", Table: &nftables.Table{Name: "nope", Family: nftables.TableFamilyIPv4}})
	}, errno: unix.ENOENT},
	{name: "a set declared again with another type", bad: func(c *nftables.Conn) {
		_ = c.AddSet(&nftables.Set{Name: "addrs", Table: ctTable, KeyType: nftables.TypeIP6Addr}, nil)
	}, errno: unix.EEXIST},
}

// sendObjects queues objects and sends them to k as one batch.
func sendObjects(t *testing.T, k nfnl.Kernel, queue func(c *nftables.Conn)) error {
	t.Helper()
	b, err := nfnl.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	queue(b.Objects())
	return k.Send(b)
}

func TestFakeRefusesLikeTheKernel(t *testing.T) {
	t.Run("fake", func(t *testing.T) {
		for _, tc := range contractCases {
			k := nfnlfake.New()
			if err := sendObjects(t, k, func(c *nftables.Conn) { contractSetup(t, c) }); err != nil {
				t.Fatalf("setup: %v", err)
			}
			before := k.Listing()
			err := sendObjects(t, k, tc.bad)
			if !errors.Is(err, tc.errno) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.errno)
			}
			if k.Listing() != before {
				t.Errorf("%s: the refused batch changed the tables", tc.name)
			}
		}
	})
	t.Run("kernel", func(t *testing.T) {
		b := newBackend(t, newNetNS(t)) // skipped without root
		for _, tc := range contractCases {
			if err := sendObjects(t, b.kernel, func(c *nftables.Conn) { contractSetup(t, c) }); err != nil {
				t.Fatalf("setup: %v", err)
			}
			err := sendObjects(t, b.kernel, tc.bad)
			switch {
			case tc.fakeOnly != "":
				t.Logf("%s: kernel says %v; the fake refuses with %v: %s", tc.name, err, tc.errno, tc.fakeOnly)
			case !errors.Is(err, tc.errno):
				t.Errorf("%s: the kernel says %v, the fake %v", tc.name, err, tc.errno)
			}
			if err := sendObjects(t, b.kernel, func(c *nftables.Conn) { c.DelTable(ctTable) }); err != nil {
				t.Fatalf("cleanup: %v", err)
			}
		}
	})
}
