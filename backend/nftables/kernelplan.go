package nftables

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"net/netip"
	"reflect"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// reconcile emits what turns the kernel's table of family f into next
// (nil: no table) when the backend does not know the kernel's state: first
// Apply of a process, after Reconcile or after an error. It reads the
// table back and sends only the differences, so a second `svcnat apply`
// and a periodic reconcile of an unchanged node send nothing, and affinity
// sets keep their entries. When the table cannot be read or compared
// safely it falls back to replacing the table in the same batch, which is
// always correct, only not minimal.
func (b *Backend) reconcile(e emitter, f synth.Family, next *model) int {
	kt, want, err := b.readKernel(f, next)
	switch {
	case err != nil && next == nil, err == nil && kt != nil && next == nil:
		t := familyTable(f)
		e.addTable(t)
		e.delTable(t)
		return 1
	case next == nil:
		return 0 // no table, none wanted
	case err != nil || kt == nil:
		return replaceModel(e, next, true)
	}
	d, ok := kernelDelta(kt, want)
	if !ok {
		return replace(e, want, true)
	}
	return d.emit(e, want)
}

// errNotComparable means the kernel's table holds something the plan
// cannot turn into svcnat's by small changes (table flags, a base chain or
// set declared differently, an element svcnat cannot express).
var errNotComparable = errors.New("kernel table not comparable")

// readKernel reads the kernel's table of family f; nil when there is none.
// When there is one and next is not nil, it also returns next's whole
// table (want), with which rules are compared while they stream in.
func (b *Backend) readKernel(f synth.Family, next *model) (kt *kernelTable, want *table, err error) {
	b.kernelReads++
	r, err := b.kernel.Read(nfnlFamily(f), TableName)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	t, err := r.Table()
	if err != nil || t == nil {
		return nil, nil, err
	}
	if next == nil {
		return &kernelTable{Table: t}, nil, nil
	}
	want = next.materialize()
	kt, err = readTableBody(r, t, want)
	return kt, want, err
}

// readTableBody reads the chains, sets, elements and rules of t.
func readTableBody(r nfnl.Reader, t *nfnl.Table, want *table) (*kernelTable, error) {
	if t.Flags != 0 { // dormant, owned by another process, ...
		return nil, errNotComparable
	}
	if err := r.Chains(t); err != nil {
		return nil, err
	}
	if err := r.Sets(t); err != nil {
		return nil, err
	}
	kt := newKernelTable(t)
	for _, s := range want.sets {
		if ks := kt.setIdx[s.name]; ks != nil && s.kind != kindAffinity && sameKernelDecl(ks, want, s) {
			if err := r.Elems(ks); err != nil {
				return nil, err
			}
		}
	}
	rc := newRuleComparer(kt, want)
	for i := range kt.chains {
		kc := &kt.chains[i]
		if kc.want == nil {
			continue // the rules of chains to delete do not matter
		}
		if err := r.Rules(kc.Chain, func(exprs, udata []byte) { rc.rule(kc, exprs, udata) }); err != nil {
			return nil, err
		}
	}
	return kt, nil
}

// kernelTable is the kernel's table read back, indexed by name, with the
// outcome of comparing each chain's rules with the wanted ones.
type kernelTable struct {
	*nfnl.Table
	chains []kernelChain // Table.Chains, in dump order
	chIdx  map[string]*kernelChain
	setIdx map[string]*nfnl.Set
}

// kernelChain is a kernel chain and, once its rules were streamed through
// ruleComparer.rule, whether they equal the wanted chain's.
type kernelChain struct {
	*nfnl.Chain
	want    *chain // nil: not wanted
	n       int    // rules seen so far
	differs bool   // some rule differs from the wanted one at its position
}

func newKernelTable(t *nfnl.Table) *kernelTable {
	kt := &kernelTable{Table: t, chains: make([]kernelChain, len(t.Chains))}
	kt.chIdx = make(map[string]*kernelChain, len(t.Chains))
	for i, c := range t.Chains {
		kt.chains[i].Chain = c
		kt.chIdx[c.Name] = &kt.chains[i]
	}
	kt.setIdx = make(map[string]*nfnl.Set, len(t.Sets))
	for _, s := range t.Sets {
		kt.setIdx[s.Name] = s
	}
	return kt
}

// nfnlFamily is the netfilter family of f's table.
func nfnlFamily(f synth.Family) nfnl.Family {
	if f == synth.IPv6 {
		return nfnl.IPv6
	}
	return nfnl.IPv4
}

// kernelDelta compares the kernel's table with want. It returns false when
// only a replacement of the table is safe.
func kernelDelta(kt *kernelTable, want *table) (*delta, bool) {
	d := &delta{}
	for _, c := range want.chains {
		kc := kt.chIdx[c.name]
		switch {
		case kc == nil:
			d.newChains = append(d.newChains, c)
		case !sameHook(kc, c):
			return nil, false
		case kc.differs || kc.n != len(c.rules):
			d.changed = append(d.changed, c)
		}
	}
	for i := range kt.chains {
		if kc := &kt.chains[i]; kc.want == nil {
			d.goneChain = append(d.goneChain, &chain{name: kc.Name})
		}
	}
	for _, s := range want.sets {
		ks := kt.setIdx[s.name]
		switch {
		case ks == nil:
			d.newSets = append(d.newSets, s)
			if len(s.elems) > 0 {
				d.adds = append(d.adds, setElems{s, s.elems})
			}
		case !sameKernelDecl(ks, want, s):
			return nil, false
		case !d.kernelElemDiff(want.family, ks, s):
			return nil, false
		}
	}
	for _, ks := range kt.Sets {
		if want.set(ks.Name) == nil {
			gone := &set{name: ks.Name, kind: kindAddr}
			if ks.Flags&unix.NFT_SET_MAP != 0 {
				gone.kind = kindAddrProtoPort // only the nft keyword of Diff depends on it
			}
			// Flushed first: its elements may jump to chains deleted
			// before the set (delta.emit deletes sets last).
			d.refill = append(d.refill, gone)
			d.goneSets = append(d.goneSets, gone)
		}
	}
	return d, true
}

// sameHook compares a kernel chain's declaration with a wanted chain's:
// base chains need the same type, hook, priority and policy (accept).
func sameHook(kc *kernelChain, c *chain) bool {
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

// kernelElemDiff adds the element changes from the kernel's set ks to s.
// Affinity sets are filled by the kernel: their elements are never
// compared. It returns false when an element cannot be decoded.
func (d *delta) kernelElemDiff(f synth.Family, ks *nfnl.Set, s *set) bool {
	switch s.kind {
	case kindAffinity:
		return true
	case kindPrefix:
		if !sameIntervals(f, ks, s) {
			d.refill = append(d.refill, s)
			if len(s.elems) > 0 {
				d.adds = append(d.adds, setElems{s, s.elems})
			}
		}
		return true
	}
	have := make([]elem, 0, len(ks.Elems))
	for _, ke := range ks.Elems {
		e, ok := decodeKernelElem(f, s.kind, ke)
		if !ok {
			return false
		}
		have = append(have, e)
	}
	slices.SortFunc(have, elemCmp)
	add, del := sortedDiff(have, s.elems)
	if len(del) > 0 {
		d.dels = append(d.dels, setElems{s, del})
	}
	if len(add) > 0 {
		d.adds = append(d.adds, setElems{s, add})
	}
	return true
}

// mismatch is a comment no svcnat element has: an element whose user data
// is not exactly what svcnat sends gets it, so it is deleted and re-added.
const mismatch = "\x00not svcnat's"

// decodeKernelElem turns a kernel element back into the model's form.
func decodeKernelElem(f synth.Family, kind setKind, ke nfnl.Elem) (elem, bool) {
	var e elem
	al := int(addrLen(f))
	k := ke.Key
	if kind == kindAddr || kind == kindAddrProtoPort || kind == kindAddrSlot || kind == kindAddrPair {
		if len(k) < al {
			return e, false
		}
		e.addr, _ = netip.AddrFromSlice(k[:al])
		k = k[al:]
	}
	if kind == kindAddrPair {
		if len(k) != al || !bytes.Equal(k, e.addr.AsSlice()) {
			return e, false
		}
		e.pair, k = true, nil
	}
	if kind != kindAddr && kind != kindAddrPair {
		if len(k) < 8 || k[1]|k[2]|k[3]|k[6]|k[7] != 0 {
			return e, false
		}
		p, ok := protocolOf(k[0])
		if !ok {
			return e, false
		}
		e.proto, e.port, k = p, uint16(k[4])<<8|uint16(k[5]), k[8:]
	}
	if kind == kindAddrSlot || kind == kindPortSlot {
		if len(k) != 4 {
			return e, false
		}
		e.slot, k = binary.NativeEndian.Uint32(k), nil
	}
	wantData := kind == kindAddrProtoPort || kind == kindProtoPort || kind == kindAddrSlot || kind == kindPortSlot
	if len(k) != 0 || ke.Flags != 0 || ke.HasData != wantData {
		return e, false
	}
	if ke.HasData && (kind == kindAddrSlot || kind == kindPortSlot) {
		to, ok := endpointOf(f, ke.Data)
		if !ok {
			return e, false
		}
		e.to = to
	} else if ke.HasData {
		v, ok := verdictOf(ke)
		if !ok {
			return e, false
		}
		e.verdict = v
	}
	if c, ok := userdata.GetString(ke.UserData, userdata.NFTNL_UDATA_SET_ELEM_COMMENT); ok {
		e.comment = c
	}
	if ke.Extra || !bytes.Equal(ke.UserData, elemUserdata(e.comment)) {
		e.comment = mismatch
	}
	return e, true
}

// endpointOf decodes an endpoint map's value (endpointValue).
func endpointOf(f synth.Family, v []byte) (netip.AddrPort, bool) {
	al := int(addrLen(f))
	if len(v) != al+4 || v[al+2]|v[al+3] != 0 {
		return netip.AddrPort{}, false
	}
	a, _ := netip.AddrFromSlice(v[:al])
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(v[al:])), true
}

func elemUserdata(c string) []byte {
	if c == "" {
		return nil
	}
	return userdata.AppendString(nil, userdata.NFTNL_UDATA_SET_ELEM_COMMENT, c)
}

func protocolOf(n uint8) (synth.Protocol, bool) {
	for _, p := range []synth.Protocol{synth.TCP, synth.UDP, synth.SCTP} {
		if p.Number() == n {
			return p, true
		}
	}
	return "", false
}

// verdictOf decodes the verdicts svcnat uses.
func verdictOf(ke nfnl.Elem) (verdict, bool) {
	switch ke.Verdict {
	case unix.NFT_GOTO:
		return goTo(ke.Chain), ke.Chain != ""
	case unix.NFT_JUMP:
		return verdict{kind: vJump, chain: ke.Chain}, ke.Chain != ""
	case 0: // NF_DROP
		return verdict{kind: vDrop}, ke.Chain == ""
	case unix.NFT_RETURN:
		return verdict{kind: vReturn}, ke.Chain == ""
	}
	return verdict{}, false
}

// sameIntervals compares an interval set's boundary elements with the
// ones nlElems sends for s.
func sameIntervals(f synth.Family, ks *nfnl.Set, s *set) bool {
	want := nlElems(nlSet(&table{family: f}, s), s.elems, true)
	if len(want) != len(ks.Elems) {
		return false
	}
	type bound struct {
		key string
		end bool
	}
	order := func(x, y bound) int {
		if c := cmp.Compare(x.key, y.key); c != 0 {
			return c
		}
		return cmp.Compare(b2i(x.end), b2i(y.end))
	}
	var w, h []bound
	for _, e := range want {
		w = append(w, bound{string(e.Key), e.IntervalEnd})
	}
	for _, e := range ks.Elems {
		if e.Extra || e.HasData || len(e.UserData) != 0 || e.Flags&^unix.NFT_SET_ELEM_INTERVAL_END != 0 {
			return false
		}
		h = append(h, bound{string(e.Key), e.Flags&unix.NFT_SET_ELEM_INTERVAL_END != 0})
	}
	slices.SortFunc(w, order)
	slices.SortFunc(h, order)
	return slices.Equal(w, h)
}

// ruleComparer compares the streamed kernel rules with the wanted rules at
// the same position of the same chain.
type ruleComparer struct {
	memo map[string]bool // see sameExpr
	key  []byte
	fam  byte
	f    synth.Family
	want *table
}

func newRuleComparer(kt *kernelTable, want *table) *ruleComparer {
	fam := byte(unix.NFPROTO_IPV4)
	if want.family == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	for i := range kt.chains {
		kt.chains[i].want = want.chain(kt.chains[i].Name)
	}
	return &ruleComparer{memo: map[string]bool{}, fam: fam, f: want.family, want: want}
}

// rule handles the next kernel rule of chain kc.
func (rc *ruleComparer) rule(kc *kernelChain, exprs, udata []byte) {
	i := kc.n
	kc.n++
	if kc.want == nil || kc.differs {
		return
	}
	if i >= len(kc.want.rules) || !rc.same(&kc.want.rules[i], exprs, udata) {
		kc.differs = true
	}
}

// same compares one kernel rule with a wanted rule exactly: the user data
// byte for byte, and every expression as google/nftables marshals it.
func (rc *ruleComparer) same(r *rule, kexprs, udata []byte) bool {
	var wantUD []byte
	if r.comment != "" {
		wantUD = userdata.AppendString(nil, userdata.TypeComment, comment(r.comment))
	}
	if !bytes.Equal(wantUD, udata) {
		return false
	}
	var kernel [][]byte
	nfnl.Attrs(kexprs, func(typ uint16, v []byte) {
		if typ == unix.NFTA_LIST_ELEM {
			kernel = append(kernel, v)
		}
	})
	i := 0
	for _, s := range r.stmts {
		for _, e := range s.exprs(rc.f) {
			if i >= len(kernel) || !rc.sameExpr(e, kernel[i]) {
				return false
			}
			i++
		}
	}
	return i == len(kernel)
}

// sameExpr compares a wanted expression with a kernel one (the contents of
// an NFTA_LIST_ELEM). The kernel dumps nested attributes without
// NLA_F_NESTED, which nestedEqual allows for. Beyond that it may dump
// attributes in another order or add defaults, so when the bytes still
// differ the kernel's expression is decoded into the wanted expression's
// type and marshalled again: equal bytes then mean equal expressions. That
// answer depends only on the bytes compared and is remembered: most such
// expressions (NAT, marks, lookups) repeat across thousands of rules.
func (rc *ruleComparer) sameExpr(e expr.Any, kernel []byte) bool {
	e = kernelForm(e)
	wantName, wantData, ok := marshalExpr(rc.fam, e)
	if !ok {
		return false
	}
	name, data, ok := splitExpr(kernel)
	if !ok || name != wantName {
		return false
	}
	if nestedEqual(wantData, data) {
		return true
	}
	rc.key = binary.NativeEndian.AppendUint32(rc.key[:0], uint32(len(wantData)))
	rc.key = append(append(append(rc.key, name...), wantData...), data...)
	if same, ok := rc.memo[string(rc.key)]; ok {
		return same
	}
	k := reflect.New(reflect.TypeOf(e).Elem()).Interface().(expr.Any)
	same := false
	if err := expr.Unmarshal(rc.fam, data, k); err == nil {
		got, err := expr.MarshalExprData(rc.fam, k)
		same = err == nil && bytes.Equal(got, wantData)
	}
	rc.memo[string(rc.key)] = same
	return same
}

// nestedEqual compares two attribute lists, where want is the one marshalled
// by google/nftables: an attribute it flags as nested is compared by its
// contents, so the missing flag on the kernel's side does not matter.
func nestedEqual(want, kernel []byte) bool {
	if bytes.Equal(want, kernel) {
		return true
	}
	for len(want) >= 4 && len(kernel) >= 4 {
		wl, kl := int(binary.NativeEndian.Uint16(want)), int(binary.NativeEndian.Uint16(kernel))
		if wl < 4 || kl < 4 || wl > len(want) || kl > len(kernel) {
			return false
		}
		wt, kt := binary.NativeEndian.Uint16(want[2:]), binary.NativeEndian.Uint16(kernel[2:])
		if wt&nfnl.TypeMask != kt&nfnl.TypeMask {
			return false
		}
		wd, kd := want[4:wl], kernel[4:kl]
		if wt&unix.NLA_F_NESTED != 0 && !nestedEqual(wd, kd) || wt&unix.NLA_F_NESTED == 0 && !bytes.Equal(wd, kd) {
			return false
		}
		want, kernel = want[min(nfnl.Align(wl), len(want)):], kernel[min(nfnl.Align(kl), len(kernel)):]
	}
	return len(want) == 0 && len(kernel) == 0
}

// kernelForm returns e as the kernel dumps it. A 32-bit register that
// starts a 128-bit one is dumped as the 128-bit register (NFT_REG32_04 as
// NFT_REG_2), and NAT without maximum registers gets the minimum ones.
// Expressions svcnat does not use are returned as they are: a rule that
// holds one is then rewritten, which is safe, only not minimal.
func kernelForm(e expr.Any) expr.Any {
	switch x := e.(type) {
	case *expr.Meta:
		c := *x
		c.Register = dumpedReg(c.Register)
		return &c
	case *expr.Payload:
		c := *x
		c.DestRegister, c.SourceRegister = dumpedReg(c.DestRegister), dumpedReg(c.SourceRegister)
		return &c
	case *expr.Lookup:
		c := *x
		c.SourceRegister, c.DestRegister = dumpedReg(c.SourceRegister), dumpedReg(c.DestRegister)
		return &c
	case *expr.Cmp:
		c := *x
		c.Register = dumpedReg(c.Register)
		return &c
	case *expr.Bitwise:
		c := *x
		c.SourceRegister, c.DestRegister = dumpedReg(c.SourceRegister), dumpedReg(c.DestRegister)
		return &c
	case *expr.Immediate:
		c := *x
		c.Register = dumpedReg(c.Register)
		return &c
	case *expr.NAT:
		return natForm(*x)
	case *expr.Numgen:
		c := *x
		c.Register = dumpedReg(c.Register)
		return &c
	case *expr.Ct:
		c := *x
		c.Register = dumpedReg(c.Register)
		return &c
	}
	return e
}

func natForm(c expr.NAT) *expr.NAT {
	c.RegAddrMin, c.RegAddrMax = dumpedReg(c.RegAddrMin), dumpedReg(c.RegAddrMax)
	c.RegProtoMin, c.RegProtoMax = dumpedReg(c.RegProtoMin), dumpedReg(c.RegProtoMax)
	if c.RegAddrMin != 0 && c.RegAddrMax == 0 {
		c.RegAddrMax = c.RegAddrMin
	}
	if c.RegProtoMin != 0 && c.RegProtoMax == 0 {
		c.RegProtoMax = c.RegProtoMin
	}
	return &c
}

// dumpedReg mirrors the kernel's nft_parse_register + nft_dump_register:
// registers are stored in 32-bit units, and dumped as a 128-bit register
// whenever they start one.
func dumpedReg(r uint32) uint32 {
	if r < unix.NFT_REG32_00 || r > unix.NFT_REG32_15 {
		return r
	}
	if unit := r - unix.NFT_REG32_00 + 4; unit%4 == 0 {
		return unit / 4
	}
	return r
}

// marshalExpr returns the name and data google/nftables sends for e. The
// names of the expressions svcnat uses are known, which saves marshalling
// the name attribute (this is the cost of a reconcile's comparison).
func marshalExpr(fam byte, e expr.Any) (name string, data []byte, ok bool) {
	switch e.(type) {
	case *expr.Meta:
		name = "meta"
	case *expr.Payload:
		name = "payload"
	case *expr.Cmp:
		name = "cmp"
	case *expr.Lookup:
		name = "lookup"
	case *expr.Bitwise:
		name = "bitwise"
	case *expr.Immediate, *expr.Verdict:
		name = "immediate"
	case *expr.NAT:
		name = "nat"
	default:
		b, err := expr.Marshal(fam, e)
		if err != nil {
			return "", nil, false
		}
		return splitExpr(b)
	}
	data, err := expr.MarshalExprData(fam, e)
	return name, data, err == nil
}

// splitExpr returns the name and data attributes of an expression.
func splitExpr(b []byte) (name string, data []byte, ok bool) {
	nfnl.Attrs(b, func(typ uint16, v []byte) {
		switch typ {
		case unix.NFTA_EXPR_NAME:
			name, ok = nfnl.AttrString(v), true
		case unix.NFTA_EXPR_DATA:
			data = v
		}
	})
	return name, data, ok
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
