package nfnlfake

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

var (
	tbl     = &nftables.Table{Name: "t", Family: nftables.TableFamilyIPv4}
	prio    = nftables.ChainPriorityNATDest
	accept  = nftables.ChainPolicyAccept
	pre     = &nftables.Chain{Name: "pre", Table: tbl, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: prio, Policy: &accept}
	post    = &nftables.Chain{Name: "post", Table: tbl, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPostrouting, Priority: prio, Policy: &accept}
	svc     = &nftables.Chain{Name: "svc", Table: tbl}
	other   = &nftables.Chain{Name: "other", Table: tbl}
	addrs   = &nftables.Set{Name: "addrs", Table: tbl, KeyType: nftables.TypeIPAddr}
	vmap    = &nftables.Set{Name: "vmap", Table: tbl, KeyType: nftables.TypeIPAddr, IsMap: true, DataType: nftables.TypeVerdict}
	ten     = []byte{10, 0, 0, 1}
	eleven  = []byte{10, 0, 0, 2}
	jumpSvc = &expr.Verdict{Kind: expr.VerdictJump, Chain: "svc"}
)

// send queues objects through google/nftables, as the backend does, and
// sends them to k as one batch.
func send(t *testing.T, k *Kernel, queue func(c *nftables.Conn)) error {
	t.Helper()
	b, err := nfnl.NewBatch()
	if err != nil {
		t.Fatal(err)
	}
	queue(b.Objects())
	return k.Send(b)
}

func mustSend(t *testing.T, k *Kernel, queue func(c *nftables.Conn)) {
	t.Helper()
	if err := send(t, k, queue); err != nil {
		t.Fatal(err)
	}
}

// base is a table with two base chains, two regular chains, a set and a
// verdict map: pre jumps to svc, which looks addrs up.
func base(t *testing.T) *Kernel {
	t.Helper()
	k := New()
	mustSend(t, k, func(c *nftables.Conn) {
		c.AddTable(tbl)
		for _, ch := range []*nftables.Chain{pre, post, svc, other} {
			c.AddChain(ch)
		}
		if err := c.AddSet(addrs, []nftables.SetElement{{Key: ten}}); err != nil {
			t.Fatal(err)
		}
		if err := c.AddSet(vmap, []nftables.SetElement{{Key: ten, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "other"}}}); err != nil {
			t.Fatal(err)
		}
		c.AddRule(&nftables.Rule{Table: tbl, Chain: pre, Exprs: []expr.Any{jumpSvc}})
		c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: addrs.Name},
		}})
	})
	return k
}

// TestRefusals checks that the fake refuses what the kernel refuses, with
// the kernel's errno and a message naming the refused message, and that
// a refused batch changes nothing.
func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		queue func(c *nftables.Conn)
		errno syscall.Errno
		msg   string
	}{
		{"delete a missing chain", func(c *nftables.Conn) { c.DelChain(&nftables.Chain{Name: "nope", Table: tbl}) }, unix.ENOENT, "delete chain nope"},
		{"delete a chain with rules", func(c *nftables.Conn) { c.DelChain(svc) }, unix.EBUSY, "delete chain svc"},
		{"delete a chain jumped to", func(c *nftables.Conn) { c.FlushChain(svc); c.DelChain(svc) }, unix.EBUSY, "jumped to"},
		{"delete a chain a map element goes to", func(c *nftables.Conn) { c.DelChain(other) }, unix.EBUSY, "jumped to"},
		{"delete a set a rule uses", func(c *nftables.Conn) { c.DelSet(addrs) }, unix.EBUSY, "delete set addrs"},
		{"delete a missing set", func(c *nftables.Conn) { c.DelSet(&nftables.Set{Name: "nope", Table: tbl}) }, unix.ENOENT, "set nope"},
		{"delete a missing element", func(c *nftables.Conn) {
			_ = c.SetDeleteElements(addrs, []nftables.SetElement{{Key: eleven}})
		}, unix.ENOENT, "delete elements of set addrs"},
		{"change a map element's verdict", func(c *nftables.Conn) {
			_ = c.SetAddElements(vmap, []nftables.SetElement{{Key: ten, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "svc"}}})
		}, unix.EEXIST, "add elements of set vmap"},
		{"a map element to a missing chain", func(c *nftables.Conn) {
			_ = c.SetAddElements(vmap, []nftables.SetElement{{Key: eleven, VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: "nope"}}})
		}, unix.ENOENT, "chain nope not found"},
		{"a rule looking up a missing set", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Lookup{SourceRegister: 1, SetName: "nope"}}})
		}, unix.ENOENT, "add rule to chain svc"},
		{"a rule jumping to a missing chain", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "nope"}}})
		}, unix.ENOENT, "chain nope not found"},
		{"a rule jumping to a base chain", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "pre"}}})
		}, unix.EOPNOTSUPP, "base chain"},
		{"a rule in a missing chain", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: &nftables.Chain{Name: "nope", Table: tbl}, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictAccept}}})
		}, unix.ENOENT, "add rule to chain nope"},
		{"a loop", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{jumpSvc}})
		}, unix.EMLINK, "deeper than"},
		{"masquerade in prerouting", func(c *nftables.Conn) {
			c.AddRule(&nftables.Rule{Table: tbl, Chain: svc, Exprs: []expr.Any{&expr.Masq{}}})
		}, unix.EOPNOTSUPP, "not allowed"},
		{"a chain in a missing table", func(c *nftables.Conn) {
			c.AddChain(&nftables.Chain{Name: "x", Table: &nftables.Table{Name: "nope", Family: nftables.TableFamilyIPv4}})
		}, unix.ENOENT, "table nope not found"},
		{"a base chain changing its hook", func(c *nftables.Conn) {
			c.AddChain(&nftables.Chain{Name: "pre", Table: tbl, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: prio, Policy: &accept})
		}, unix.EEXIST, "hook mismatch"},
		{"a set declared again with another type", func(c *nftables.Conn) {
			_ = c.AddSet(&nftables.Set{Name: "addrs", Table: tbl, KeyType: nftables.TypeIP6Addr}, nil)
		}, unix.EEXIST, "set addrs exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := base(t)
			before, gen := k.Listing(), k.gen
			err := send(t, k, func(c *nftables.Conn) {
				c.AddChain(&nftables.Chain{Name: "added-first", Table: tbl}) // must not survive the refusal
				tc.queue(c)
			})
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want %v naming %q", err, tc.errno, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "batch message ") {
				t.Errorf("err = %v, want it to name the message", err)
			}
			if k.Listing() != before || k.gen != gen {
				t.Errorf("a refused batch changed the kernel:\n%s", k.Listing())
			}
		})
	}
}

// TestAccepts checks what the kernel accepts that a stricter fake might
// not: the same element again, a set named by its ID, emptied chains and
// unused sets deleted.
func TestAccepts(t *testing.T) {
	k := base(t)
	mustSend(t, k, func(c *nftables.Conn) {
		_ = c.SetAddElements(addrs, []nftables.SetElement{{Key: ten}, {Key: eleven}}) // ten again: no-op
		c.FlushChain(pre)
		c.FlushChain(svc)
		c.DelChain(svc)
		c.DelSet(addrs)
		fresh := &nftables.Set{Name: "fresh", Table: tbl, KeyType: nftables.TypeIPAddr}
		if err := c.AddSet(fresh, nil); err != nil {
			t.Fatal(err)
		}
		c.AddRule(&nftables.Rule{Table: tbl, Chain: pre, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetID: fresh.ID}}}) // by ID only
	})
	l := k.Listing()
	for _, want := range []string{"lookup r1 @fresh", "set fresh"} {
		if !strings.Contains(l, want) {
			t.Errorf("listing lacks %q:\n%s", want, l)
		}
	}
	if strings.Contains(l, "chain svc") || strings.Contains(l, "set addrs") {
		t.Errorf("deleted objects still listed:\n%s", l)
	}
	if g, _ := k.Generation(); g != 2 {
		t.Errorf("generation %d after two batches", g)
	}
}

// TestReadBack checks that Read gives the table back as the kernel dumps
// it: declarations, elements, and rules with registers in dumped form.
func TestReadBack(t *testing.T) {
	k := base(t)
	r, err := k.Read(nfnl.IPv4, "t")
	if err != nil {
		t.Fatal(err)
	}
	kt, err := r.Table()
	if err != nil || kt == nil {
		t.Fatalf("table: %v, %v", kt, err)
	}
	if err := r.Chains(kt); err != nil {
		t.Fatal(err)
	}
	if err := r.Sets(kt); err != nil {
		t.Fatal(err)
	}
	if len(kt.Chains) != 4 || len(kt.Sets) != 2 || !kt.Chains[0].HasHook || kt.Chains[2].HasHook {
		t.Fatalf("chains %+v sets %+v", kt.Chains, kt.Sets)
	}
	if err := r.Elems(kt.Sets[1]); err != nil || len(kt.Sets[1].Elems) != 1 || kt.Sets[1].Elems[0].Chain != "other" {
		t.Fatalf("vmap elements %+v, %v", kt.Sets[1].Elems, err)
	}
	n := 0
	if err := r.Rules(kt.Chains[2], func(exprs, _ []byte) {
		got, err := decodeExprs(nfnl.IPv4, exprs)
		if err != nil || len(got) != 2 {
			t.Fatalf("dumped rule %v, %v", got, err)
		}
		n++
	}); err != nil || n != 1 {
		t.Fatalf("rules of svc: %d, %v", n, err)
	}
	missing, _ := k.Read(nfnl.IPv6, "t")
	if kt, err := missing.Table(); kt != nil || err != nil {
		t.Errorf("missing table: %v, %v", kt, err)
	}
}
