package nftables

import (
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// elemsPerMessage keeps each NEWSETELEM message well below the 64 KiB
// netlink attribute limit.
const elemsPerMessage = 256

// nlEmitter queues a transaction in a netlink batch: google/nftables
// marshals the objects into it.
type nlEmitter struct {
	batch *nfnl.Batch
	c     *nftables.Conn // batch.Objects()
	setID uint32         // NFTA_SET_ID of the sets declared by addEndpointMap
	err   error
}

func newNLEmitter(b *nfnl.Batch) *nlEmitter { return &nlEmitter{batch: b, c: b.Objects()} }

// queued counts objects handed to google/nftables.
func (w *nlEmitter) queued(n int) { w.batch.Queued(n) }

func (w *nlEmitter) fail(err error) {
	if err != nil && w.err == nil {
		w.err = err
	}
}

func nlTable(t *table) *nftables.Table {
	fam := nftables.TableFamilyIPv4
	if t.family == synth.IPv6 {
		fam = nftables.TableFamilyIPv6
	}
	return &nftables.Table{Name: TableName, Family: fam}
}

func nlAddrType(f synth.Family) nftables.SetDatatype {
	if f == synth.IPv6 {
		return nftables.TypeIP6Addr
	}
	return nftables.TypeIPAddr
}

func nlSet(t *table, s *set) *nftables.Set {
	ns := &nftables.Set{Table: nlTable(t), Name: s.name, KeyType: nlAddrType(t.family), KeyByteOrder: binaryutil.BigEndian}
	switch s.kind {
	case kindPrefix:
		ns.Interval = true
	case kindAddrProtoPort:
		ns.IsMap, ns.Concatenation, ns.DataType = true, true, nftables.TypeVerdict
		ns.KeyType = nftables.MustConcatSetType(nlAddrType(t.family), nftables.TypeInetProto, nftables.TypeInetService)
	case kindProtoPort:
		ns.IsMap, ns.Concatenation, ns.DataType = true, true, nftables.TypeVerdict
		ns.KeyType = nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService)
	case kindAffinity:
		ns.Dynamic, ns.HasTimeout, ns.Timeout = true, true, time.Duration(s.timeout)*time.Second
	case kindAddrPair:
		ns.Concatenation = true
		ns.KeyType = nftables.MustConcatSetType(nlAddrType(t.family), nlAddrType(t.family))
	case kindAddrSlot, kindPortSlot:
		// Declared by addEndpointMap; this value serves deletes, element
		// encoding and the comparison with the kernel's declaration.
		ns.IsMap = true
		ns.KeyType, ns.DataType = endpointMapTypes(t.family, s.kind)
	}
	return ns
}

func nlChain(t *table, c *chain) *nftables.Chain {
	nc := &nftables.Chain{Name: c.name, Table: nlTable(t)}
	if h := c.hook; h != nil {
		hooks := map[string]*nftables.ChainHook{
			"prerouting": nftables.ChainHookPrerouting, "input": nftables.ChainHookInput,
			"forward": nftables.ChainHookForward, "output": nftables.ChainHookOutput,
			"postrouting": nftables.ChainHookPostrouting,
		}
		prio := nftables.ChainPriority(h.priority)
		policy := nftables.ChainPolicyAccept
		nc.Hooknum, nc.Priority, nc.Type, nc.Policy = hooks[h.hook], &prio, nftables.ChainType(h.typ), &policy
	}
	return nc
}

func (w *nlEmitter) addTable(t *table) { w.c.AddTable(nlTable(t)); w.queued(1) }
func (w *nlEmitter) delTable(t *table) { w.c.DelTable(nlTable(t)); w.queued(1) }
func (w *nlEmitter) addSet(t *table, s *set) {
	if s.isEndpointMap() {
		w.addEndpointMap(t, s)
		return
	}
	w.fail(w.c.AddSet(nlSet(t, s), nil))
	w.queued(1)
}
func (w *nlEmitter) delSet(t *table, s *set)       { w.c.DelSet(nlSet(t, s)); w.queued(1) }
func (w *nlEmitter) flushSet(t *table, s *set)     { w.c.FlushSet(nlSet(t, s)); w.queued(1) }
func (w *nlEmitter) addChain(t *table, c *chain)   { w.c.AddChain(nlChain(t, c)); w.queued(1) }
func (w *nlEmitter) flushChain(t *table, c *chain) { w.c.FlushChain(nlChain(t, c)); w.queued(1) }
func (w *nlEmitter) delChain(t *table, c *chain)   { w.c.DelChain(nlChain(t, c)); w.queued(1) }

func (w *nlEmitter) addRules(t *table, c *chain) {
	nc := nlChain(t, c)
	for i := range c.rules {
		r := &c.rules[i]
		w.c.AddRule(&nftables.Rule{Table: nc.Table, Chain: nc, Exprs: ruleExprs(t.family, r), UserData: ruleUserdata(r)})
	}
	w.queued(len(c.rules))
}

func (w *nlEmitter) addElems(t *table, s *set, es []elem) { w.elems(false, t, s, es) }
func (w *nlEmitter) delElems(t *table, s *set, es []elem) { w.elems(true, t, s, es) }

// elems queues the addition (or deletion) of es, elemsPerMessage to a
// message: written straight into the batch (nfnl.ElemMsg, the bytes
// google/nftables would send), except for an interval set's boundary
// elements (element flags), which google/nftables encodes.
func (w *nlEmitter) elems(del bool, t *table, s *set, es []elem) {
	ns := nlSet(t, s)
	if ns.Interval {
		send := w.c.SetAddElements
		if del {
			send = w.c.SetDeleteElements
		}
		w.intervalChunks(ns, es, send)
		return
	}
	var key, val []byte // reused: the message copies them
	for i := 0; i < len(es); i += elemsPerMessage {
		m := w.batch.BeginElems(del, nfnlFamily(t.family), ns.Table.Name, ns.Name, ns.ID)
		for _, e := range es[i:min(i+elemsPerMessage, len(es))] {
			key, val = appendElemKey(key[:0], e), val[:0]
			if e.to.IsValid() {
				val = appendEndpointValue(val, e.to)
			}
			var v *expr.Verdict
			if e.verdict.kind != vNone {
				v = e.verdict.expr()
			}
			m.Add(key, val, v, e.comment)
		}
		m.End()
	}
}

// intervalChunks encodes and queues an interval set's es one message at a
// time.
func (w *nlEmitter) intervalChunks(ns *nftables.Set, es []elem, send func(*nftables.Set, []nftables.SetElement) error) {
	for i := 0; i < len(es); i += elemsPerMessage {
		part := es[i:min(i+elemsPerMessage, len(es))]
		w.fail(send(ns, intervalSetElems(part, i == 0)))
		w.queued(len(part))
	}
}

// sameHook compares a kernel chain's declaration with a wanted chain's:
// base chains need the same type, hook, priority and policy (accept).
func sameHook(kc *nfnl.Chain, c *chain) bool {
	if c.hook == nil || !kc.HasHook {
		return c.hook == nil && !kc.HasHook && kc.Policy < 0
	}
	want := nlChain(&table{}, c)
	return kc.Type == string(want.Type) && kc.Hooknum == uint32(*want.Hooknum) &&
		kc.Priority == int32(*want.Priority) && kc.Policy == int64(*want.Policy)
}

// sameKernelDecl compares a kernel set's declaration with what nlSet
// sends for s. The data length of verdict maps is not compared: the
// kernel stores its own.
func sameKernelDecl(ks *nfnl.Set, t *table, s *set) bool {
	ns := nlSet(t, s)
	var flags uint32
	for _, f := range []struct {
		on   bool
		flag uint32
	}{
		{ns.Interval, unix.NFT_SET_INTERVAL}, {ns.IsMap, unix.NFT_SET_MAP}, {ns.HasTimeout, unix.NFT_SET_TIMEOUT},
		{ns.Dynamic, unix.NFT_SET_EVAL}, {ns.Concatenation, nftables.NFT_SET_CONCAT},
	} {
		if f.on {
			flags |= f.flag
		}
	}
	var timeout uint64
	if ns.HasTimeout {
		timeout = uint64(ns.Timeout.Milliseconds())
	}
	dataType := uint32(0)
	switch {
	case s.isVerdictMap():
		dataType = uint32(unix.NFT_DATA_VERDICT)
	case s.isEndpointMap():
		dataType = ns.DataType.GetNFTMagic()
	}
	return ks.Flags == flags && ks.KeyType == ns.KeyType.GetNFTMagic() && ks.KeyLen == ns.KeyType.Bytes &&
		ks.DataType == dataType && ks.TimeoutMS == timeout && ks.HasTimeout == (timeout != 0) &&
		!ks.HasExpr && !ks.HasObj
}

// The endpoint maps' keys end in a random slot number, a plain 32-bit
// integer. nft can name such a key only with `typeof`, and it lists a set
// as `typeof` only when the set's user data describes the expressions
// (libnftnl's NFTNL_UDATA_SET_KEY_TYPEOF and _DATA_TYPEOF). Without it
// `nft list` would print a type it cannot read back. google/nftables
// writes its own user data, so these sets are declared with a message of
// our own carrying the bytes nft 1.0.6 writes for the same declaration
// (read back from a kernel after `nft -f` of typeofText's line; the
// netlink-vs-nft cross-check tests that both listings are equal).
var typeofUserdata = map[synth.Family]map[setKind]string{
	synth.IPv4: {
		kindAddrSlot: "000400000000010400000000036000040d00000001580014000407000000010c00040c00000001040c000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000060400000000",
		kindPortSlot: "000400000000010400000000034a00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040c00000001040c0000000114000407000000010c00040b000000010402000000060400000000",
	},
	synth.IPv6: {
		kindAddrSlot: "000400000000010400000000036000040d00000001580014000407000000010c00040d000000010409000000010e00040900000001060004100000000214000407000000010c00040b000000010402000000031a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000060400000000",
		kindPortSlot: "000400000000010400000000034a00040d0000000142000e00040900000001060004100000000114000407000000010c00040b000000010402000000021a0004170000000112000401000000010401000000020400000000043400040d000000012c0014000407000000010c00040d0000000104090000000114000407000000010c00040b000000010402000000060400000000",
	},
}

// endpointMapTypes returns the key and value types of an endpoint map.
func endpointMapTypes(f synth.Family, kind setKind) (key, value nftables.SetDatatype) {
	parts := []nftables.SetDatatype{nftables.TypeInetProto, nftables.TypeInetService, nftables.TypeInteger}
	if kind == kindAddrSlot {
		parts = append([]nftables.SetDatatype{nlAddrType(f)}, parts...)
	}
	return nftables.MustConcatSetType(parts...), nftables.MustConcatSetType(nlAddrType(f), nftables.TypeInetService)
}

// addEndpointMap queues the NEWSET message of an endpoint map, after
// everything google/nftables queued before it.
func (w *nlEmitter) addEndpointMap(t *table, s *set) {
	udata, err := hex.DecodeString(typeofUserdata[t.family][s.kind])
	if err != nil {
		w.fail(err)
		return
	}
	key, value := endpointMapTypes(t.family, s.kind)
	w.setID++
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian // nfnetlink integers are big-endian
	ae.String(unix.NFTA_SET_TABLE, TableName)
	ae.String(unix.NFTA_SET_NAME, s.name)
	ae.Uint32(unix.NFTA_SET_FLAGS, unix.NFT_SET_MAP)
	ae.Uint32(unix.NFTA_SET_KEY_TYPE, key.GetNFTMagic())
	ae.Uint32(unix.NFTA_SET_KEY_LEN, key.Bytes)
	ae.Uint32(unix.NFTA_SET_DATA_TYPE, value.GetNFTMagic())
	ae.Uint32(unix.NFTA_SET_DATA_LEN, value.Bytes)
	ae.Uint32(unix.NFTA_SET_ID, w.setID)
	ae.Bytes(unix.NFTA_SET_USERDATA, udata)
	b, err := ae.Encode()
	if err != nil {
		w.fail(err)
		return
	}
	fam := byte(unix.NFPROTO_IPV4)
	if t.family == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	typ := netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_NEWSET)
	w.batch.Append(typ, netlink.Request|netlink.Create, append([]byte{fam, unix.NFNETLINK_V0, 0, 0}, b...))
}
