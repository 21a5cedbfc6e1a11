package nftables

import (
	"encoding/binary"
	"math/big"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/userdata"

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
	for _, r := range c.rules {
		nr := &nftables.Rule{Table: nc.Table, Chain: nc}
		for _, s := range r.stmts {
			nr.Exprs = append(nr.Exprs, s.exprs(t.family)...)
		}
		if r.comment != "" {
			nr.UserData = userdata.AppendString(nil, userdata.TypeComment, comment(r.comment))
		}
		w.c.AddRule(nr)
	}
	w.queued(len(c.rules))
}

func (w *nlEmitter) addElems(t *table, s *set, es []elem) {
	w.chunks(nlSet(t, s), es, w.c.SetAddElements)
}

func (w *nlEmitter) delElems(t *table, s *set, es []elem) {
	w.chunks(nlSet(t, s), es, w.c.SetDeleteElements)
}

// chunks encodes and queues es one message at a time, so that a set of a
// million elements is never held in google/nftables' form all at once.
func (w *nlEmitter) chunks(ns *nftables.Set, es []elem, send func(*nftables.Set, []nftables.SetElement) error) {
	for i := 0; i < len(es); i += elemsPerMessage {
		part := es[i:min(i+elemsPerMessage, len(es))]
		w.fail(send(ns, nlElems(ns, part, i == 0)))
		w.queued(len(part))
	}
}

// nlElems encodes elements; interval sets get boundary elements the way
// nft sends them (an interval end at 0 before the first range of the set,
// when first, each range as start + end-exclusive).
func nlElems(ns *nftables.Set, es []elem, first bool) []nftables.SetElement {
	out := make([]nftables.SetElement, 0, len(es))
	for i, e := range es {
		if ns.Interval {
			out = append(out, intervalElems(e.prefix, first && i == 0)...)
			continue
		}
		ne := nftables.SetElement{Key: elemKey(e), Comment: e.comment}
		if e.verdict.kind != vNone {
			ne.VerdictData = e.verdict.expr()
		}
		if e.to.IsValid() {
			ne.Val = endpointValue(e.to)
		}
		out = append(out, ne)
	}
	return out
}

func elemKey(e elem) []byte {
	var k []byte
	if e.addr.IsValid() {
		k = append(k, e.addr.AsSlice()...)
	}
	if e.pair {
		return append(k, e.addr.AsSlice()...)
	}
	if e.proto == "" {
		return k
	}
	// Each part of a concatenation is padded to 4 bytes.
	k = append(k, e.proto.Number(), 0, 0, 0)
	k = append(binary.BigEndian.AppendUint16(k, e.port), 0, 0)
	if e.to.IsValid() {
		k = binary.NativeEndian.AppendUint32(k, e.slot) // numgen's result, a host-order register
	}
	return k
}

// endpointValue is an endpoint map's value: address . port, the port
// padded to 4 bytes.
func endpointValue(ap netip.AddrPort) []byte {
	v := ap.Addr().Unmap().AsSlice()
	return append(binary.BigEndian.AppendUint16(v, ap.Port()), 0, 0)
}

func intervalElems(p netip.Prefix, first bool) []nftables.SetElement {
	start := p.Masked().Addr()
	var out []nftables.SetElement
	if first && !start.IsUnspecified() {
		out = append(out, nftables.SetElement{Key: make([]byte, start.BitLen()/8), IntervalEnd: true})
	}
	out = append(out, nftables.SetElement{Key: start.AsSlice()})
	if end, ok := afterPrefix(p); ok {
		out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return out
}

// afterPrefix is the first address after p; false when p reaches the end of the address space.
func afterPrefix(p netip.Prefix) (netip.Addr, bool) {
	a := p.Masked().Addr()
	n := new(big.Int).SetBytes(a.AsSlice())
	n.Add(n, new(big.Int).Lsh(big.NewInt(1), uint(a.BitLen()-p.Bits())))
	b := n.Bytes()
	if len(b) > a.BitLen()/8 {
		return netip.Addr{}, false
	}
	buf := make([]byte, a.BitLen()/8)
	copy(buf[len(buf)-len(b):], b)
	out, _ := netip.AddrFromSlice(buf)
	return out, true
}
