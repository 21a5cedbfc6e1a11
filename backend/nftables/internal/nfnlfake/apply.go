package nfnlfake

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// Kernel flag and attribute values golang.org/x/sys/unix does not define.
const (
	intervalEnd     = unix.NFT_SET_ELEM_INTERVAL_END
	nlmFNonRec      = 0x100 // NLM_F_NONREC: delete only if empty
	nftaChainFlags  = 10    // NFTA_CHAIN_FLAGS
	nftaRuleChainID = 11    // NFTA_RULE_CHAIN_ID
	nftChainBase    = 1     // NFT_CHAIN_BASE
)

// txn applies the messages of one batch to a copy of the ruleset.
type txn struct {
	rs *ruleset
	// newSets are the sets created by this batch, by table and
	// NFTA_SET_ID: later messages of the batch may name a set by its ID.
	newSets map[*table]map[uint32]*set
}

// apply applies one message, or says why the kernel would refuse it.
func (tx *txn) apply(msg []byte) error {
	h, err := parseHeader(msg)
	if err != nil {
		return err
	}
	switch h.typ {
	case unix.NFT_MSG_NEWTABLE:
		return tx.newTable(h)
	case unix.NFT_MSG_DELTABLE:
		return tx.delTable(h)
	case unix.NFT_MSG_NEWCHAIN:
		return tx.newChain(h)
	case unix.NFT_MSG_DELCHAIN:
		return tx.delChain(h)
	case unix.NFT_MSG_NEWSET:
		return tx.newSet(h)
	case unix.NFT_MSG_DELSET:
		return tx.delSet(h)
	case unix.NFT_MSG_NEWSETELEM:
		return tx.validated(tx.newElems(h))
	case unix.NFT_MSG_DELSETELEM:
		return tx.delElems(h)
	case unix.NFT_MSG_NEWRULE:
		return tx.validated(tx.newRule(h))
	case unix.NFT_MSG_DELRULE:
		return tx.delRule(h)
	}
	return refuse(unix.EOPNOTSUPP, "message type %d is not modelled by the fake kernel", h.typ)
}

// attrMap collects the top-level attributes of a message (the last one
// of a type wins, as with nla_parse).
func attrMap(b []byte) map[uint16][]byte {
	m := map[uint16][]byte{}
	nfnl.Attrs(b, func(typ uint16, v []byte) { m[typ] = v })
	return m
}

func str(m map[uint16][]byte, typ uint16) string { return nfnl.AttrString(m[typ]) }

func be32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func be64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// lookupTable finds the table a message addresses by the attribute typ.
func (tx *txn) lookupTable(h header, typ uint16) (*table, map[uint16][]byte, error) {
	a := attrMap(h.attrs)
	if _, ok := a[typ]; !ok {
		return nil, a, refuse(unix.EINVAL, "no table named")
	}
	t := tx.rs.table(h.fam, str(a, typ))
	if t == nil {
		return nil, a, refuse(unix.ENOENT, "table %s not found", str(a, typ))
	}
	return t, a, nil
}

func (tx *txn) newTable(h header) error {
	a := attrMap(h.attrs)
	name := str(a, unix.NFTA_TABLE_NAME)
	if name == "" {
		return refuse(unix.EINVAL, "table without a name")
	}
	if t := tx.rs.table(h.fam, name); t != nil {
		if h.flags&unix.NLM_F_EXCL != 0 {
			return refuse(unix.EEXIST, "table %s exists", name)
		}
		if v, ok := a[unix.NFTA_TABLE_FLAGS]; ok {
			t.flags = be32(v)
		}
		return nil
	}
	tx.rs.tables = append(tx.rs.tables, &table{family: h.fam, name: name, flags: be32(a[unix.NFTA_TABLE_FLAGS])})
	return nil
}

// delTable deletes a table with everything in it: the references between
// its objects go with them.
func (tx *txn) delTable(h header) error {
	t, _, err := tx.lookupTable(h, unix.NFTA_TABLE_NAME)
	if err != nil {
		return err
	}
	tx.rs.tables = slices.DeleteFunc(tx.rs.tables, func(x *table) bool { return x == t })
	delete(tx.newSets, t)
	return nil
}

func parseChain(a map[uint16][]byte) nfnl.Chain {
	c := nfnl.Chain{Name: str(a, unix.NFTA_CHAIN_NAME), Type: str(a, unix.NFTA_CHAIN_TYPE), Policy: -1,
		Flags: be32(a[nftaChainFlags])}
	if v, ok := a[unix.NFTA_CHAIN_POLICY]; ok {
		c.Policy = int64(be32(v))
	}
	if v, ok := a[unix.NFTA_CHAIN_HOOK]; ok {
		c.HasHook = true
		c.Flags |= nftChainBase // the kernel dumps base chains with it
		hook := attrMap(v)
		c.Hooknum, c.Priority = be32(hook[unix.NFTA_HOOK_HOOKNUM]), int32(be32(hook[unix.NFTA_HOOK_PRIORITY]))
	}
	return c
}

// newChain creates a chain, or updates an existing one: only its policy
// may change; a different hook, priority or type is refused.
func (tx *txn) newChain(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_CHAIN_TABLE)
	if err != nil {
		return err
	}
	want := parseChain(a)
	if want.Name == "" {
		return refuse(unix.EINVAL, "chain without a name")
	}
	if want.HasHook && (want.Type == "" || want.Hooknum > unix.NF_INET_POST_ROUTING) {
		return refuse(unix.EINVAL, "chain %s: bad hook", want.Name)
	}
	c := t.chain(want.Name)
	if c == nil {
		t.chains = append(t.chains, &chain{decl: want})
		return nil
	}
	switch {
	case h.flags&unix.NLM_F_EXCL != 0:
		return refuse(unix.EEXIST, "chain %s exists", want.Name)
	case want.HasHook != c.decl.HasHook && want.HasHook:
		return refuse(unix.EOPNOTSUPP, "chain %s: a regular chain cannot become a base chain", want.Name)
	case want.HasHook && (want.Hooknum != c.decl.Hooknum || want.Priority != c.decl.Priority || want.Type != c.decl.Type):
		return refuse(unix.EEXIST, "chain %s: hook mismatch", want.Name)
	}
	if want.Policy >= 0 && c.decl.HasHook {
		c.decl.Policy = want.Policy
	}
	return nil
}

// delChain deletes a chain. The fake is as strict as the oldest kernels
// svcnat supports: a chain that still holds rules is refused (newer
// kernels delete its rules unless NLM_F_NONREC), and so is a chain that a
// rule or a verdict map element still jumps to.
func (tx *txn) delChain(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_CHAIN_TABLE)
	if err != nil {
		return err
	}
	name := str(a, unix.NFTA_CHAIN_NAME)
	c := t.chain(name)
	switch {
	case c == nil:
		return refuse(unix.ENOENT, "chain %s not found", name)
	case len(c.rules) > 0:
		return refuse(unix.EBUSY, "chain %s still has %d rules", name, len(c.rules))
	case t.chainUsers(name) > 0:
		return refuse(unix.EBUSY, "chain %s is still jumped to (%d references)", name, t.chainUsers(name))
	}
	t.chains = slices.DeleteFunc(t.chains, func(x *chain) bool { return x == c })
	return nil
}

func parseSet(a map[uint16][]byte) (nfnl.Set, uint32) {
	s := nfnl.Set{Name: str(a, unix.NFTA_SET_NAME), Flags: be32(a[unix.NFTA_SET_FLAGS]),
		KeyType: be32(a[unix.NFTA_SET_KEY_TYPE]), KeyLen: be32(a[unix.NFTA_SET_KEY_LEN]),
		DataType: be32(a[unix.NFTA_SET_DATA_TYPE]), DataLen: be32(a[unix.NFTA_SET_DATA_LEN])}
	if v, ok := a[unix.NFTA_SET_TIMEOUT]; ok {
		s.HasTimeout, s.TimeoutMS = true, be64(v)
	}
	_, s.HasObj = a[unix.NFTA_SET_OBJ_TYPE]
	if s.DataType == unix.NFT_DATA_VERDICT {
		s.DataLen = 16 // the kernel stores a struct nft_verdict, whatever was asked
	}
	return s, be32(a[unix.NFTA_SET_ID])
}

// sameSet compares two declarations the way the kernel does before it
// accepts NEWSET for an existing set.
func sameSet(x, y nfnl.Set) bool {
	return x.Flags == y.Flags && x.KeyType == y.KeyType && x.KeyLen == y.KeyLen && x.DataType == y.DataType &&
		x.DataLen == y.DataLen && x.TimeoutMS == y.TimeoutMS && x.HasTimeout == y.HasTimeout && x.HasObj == y.HasObj
}

func (tx *txn) newSet(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_SET_TABLE)
	if err != nil {
		return err
	}
	decl, id := parseSet(a)
	switch {
	case decl.Name == "":
		return refuse(unix.EINVAL, "set without a name")
	case decl.KeyLen == 0 || decl.KeyLen > 64:
		return refuse(unix.EINVAL, "set %s: key length %d", decl.Name, decl.KeyLen)
	case decl.Flags&unix.NFT_SET_MAP != 0 && decl.DataLen == 0:
		return refuse(unix.EINVAL, "map %s without a data length", decl.Name)
	case decl.HasObj:
		return refuse(unix.EOPNOTSUPP, "object maps are not modelled by the fake kernel")
	}
	if s := t.set(decl.Name); s != nil {
		if h.flags&unix.NLM_F_EXCL != 0 || !sameSet(s.decl, decl) {
			return refuse(unix.EEXIST, "set %s exists", decl.Name)
		}
		return nil
	}
	if h.flags&unix.NLM_F_CREATE == 0 {
		return refuse(unix.ENOENT, "set %s not found (no NLM_F_CREATE)", decl.Name)
	}
	s := &set{decl: decl, id: id, udata: append([]byte(nil), a[unix.NFTA_SET_USERDATA]...)}
	t.sets = append(t.sets, s)
	if tx.newSets == nil {
		tx.newSets = map[*table]map[uint32]*set{}
	}
	if tx.newSets[t] == nil {
		tx.newSets[t] = map[uint32]*set{}
	}
	tx.newSets[t][id] = s
	return nil
}

// delSet deletes a set no rule refers to.
func (tx *txn) delSet(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_SET_TABLE)
	if err != nil {
		return err
	}
	name := str(a, unix.NFTA_SET_NAME)
	s := t.set(name)
	switch {
	case s == nil:
		return refuse(unix.ENOENT, "set %s not found", name)
	case t.setUsers(name) > 0:
		return refuse(unix.EBUSY, "set %s is still used by %d rules", name, t.setUsers(name))
	}
	t.sets = slices.DeleteFunc(t.sets, func(x *set) bool { return x == s })
	return nil
}

// findSet finds a set by name, or by the ID it was created with in this
// batch.
func (tx *txn) findSet(t *table, name string, id []byte) *set {
	if s := t.set(name); s != nil {
		return s
	}
	if id != nil {
		if s := tx.newSets[t][be32(id)]; s != nil && t.set(s.decl.Name) == s {
			return s
		}
	}
	return nil
}

func (tx *txn) elemTarget(h header) (*table, *set, map[uint16][]byte, error) {
	t, a, err := tx.lookupTable(h, unix.NFTA_SET_ELEM_LIST_TABLE)
	if err != nil {
		return nil, nil, nil, err
	}
	name := str(a, unix.NFTA_SET_ELEM_LIST_SET)
	s := tx.findSet(t, name, a[unix.NFTA_SET_ELEM_LIST_SET_ID])
	if s == nil {
		return nil, nil, nil, refuse(unix.ENOENT, "set %s not found", name)
	}
	return t, s, a, nil
}

func listElems(list []byte) []nfnl.Elem {
	var out []nfnl.Elem
	// Like the kernel's nla_for_each_nested, any attribute type is an
	// element: google/nftables numbers them 1, 2, 3...
	nfnl.Attrs(list, func(_ uint16, v []byte) { out = append(out, nfnl.DecodeElem(v)) })
	return out
}

// newElems adds elements. As in the kernel, adding an element that
// exists with the same data is a no-op unless NLM_F_EXCL is set; with
// other data it clashes (EEXIST) even without it.
func (tx *txn) newElems(h header) error {
	t, s, a, err := tx.elemTarget(h)
	if err != nil {
		return err
	}
	list, ok := a[unix.NFTA_SET_ELEM_LIST_ELEMENTS]
	if !ok {
		return refuse(unix.EINVAL, "no elements")
	}
	for _, e := range listElems(list) {
		if err := tx.checkElem(t, s, e); err != nil {
			return err
		}
		i, found := s.find(e)
		if !found {
			s.elems = slices.Insert(s.elems, i, e)
			continue
		}
		if h.flags&unix.NLM_F_EXCL != 0 || !sameData(s.elems[i], e) {
			return refuse(unix.EEXIST, "set %s: element %x exists", s.decl.Name, e.Key)
		}
	}
	return nil
}

func sameData(x, y nfnl.Elem) bool {
	return x.HasData == y.HasData && x.Verdict == y.Verdict && x.Chain == y.Chain && string(x.Data) == string(y.Data)
}

// checkElem checks an element against its set's declaration and its
// verdict against the table's chains.
func (tx *txn) checkElem(t *table, s *set, e nfnl.Elem) error {
	isMap, isEnd := s.decl.Flags&unix.NFT_SET_MAP != 0, e.Flags&intervalEnd != 0
	switch {
	case e.Extra:
		return refuse(unix.EOPNOTSUPP, "set %s: element timeouts, expressions and objects are not modelled by the fake kernel", s.decl.Name)
	case uint32(len(e.Key)) != s.decl.KeyLen:
		return refuse(unix.EINVAL, "set %s: key of %d bytes, want %d", s.decl.Name, len(e.Key), s.decl.KeyLen)
	case isEnd && s.decl.Flags&unix.NFT_SET_INTERVAL == 0:
		return refuse(unix.EINVAL, "set %s: interval end in a set without intervals", s.decl.Name)
	case !isMap && e.HasData:
		return refuse(unix.EINVAL, "set %s: data for a set that is not a map", s.decl.Name)
	case isMap && !isEnd && !e.HasData:
		return refuse(unix.EINVAL, "map %s: element without data", s.decl.Name)
	case isMap && s.decl.DataType != unix.NFT_DATA_VERDICT && e.HasData && uint32(len(e.Data)) != s.decl.DataLen:
		return refuse(unix.EINVAL, "map %s: data of %d bytes, want %d", s.decl.Name, len(e.Data), s.decl.DataLen)
	}
	if e.Verdict == unix.NFT_JUMP || e.Verdict == unix.NFT_GOTO {
		return checkTarget(t, e.Chain)
	}
	return nil
}

// checkTarget checks a jump or goto: the chain must exist and must not be
// a base chain.
func checkTarget(t *table, name string) error {
	c := t.chain(name)
	switch {
	case c == nil:
		return refuse(unix.ENOENT, "chain %s not found", name)
	case c.decl.HasHook:
		return refuse(unix.EOPNOTSUPP, "jump to base chain %s", name)
	}
	return nil
}

// delElems deletes elements (a missing one is refused), or, with no
// element list, flushes the set.
func (tx *txn) delElems(h header) error {
	_, s, a, err := tx.elemTarget(h)
	if err != nil {
		return err
	}
	list, ok := a[unix.NFTA_SET_ELEM_LIST_ELEMENTS]
	if !ok {
		s.elems = nil
		return nil
	}
	for _, e := range listElems(list) {
		i, found := s.find(e)
		if !found {
			return refuse(unix.ENOENT, "set %s: element %x not found", s.decl.Name, e.Key)
		}
		s.elems = slices.Delete(s.elems, i, i+1)
	}
	return nil
}

// newRule adds a rule: appended (NLM_F_APPEND) or inserted at the head,
// after or before the rule of handle NFTA_RULE_POSITION, or replacing
// the rule of handle NFTA_RULE_HANDLE (NLM_F_REPLACE).
func (tx *txn) newRule(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_RULE_TABLE)
	if err != nil {
		return err
	}
	name := str(a, unix.NFTA_RULE_CHAIN)
	c := t.chain(name)
	if c == nil {
		if _, byID := a[nftaRuleChainID]; byID {
			return refuse(unix.EOPNOTSUPP, "chains by ID are not modelled by the fake kernel")
		}
		return refuse(unix.ENOENT, "chain %s not found", name)
	}
	r, err := tx.parseRule(t, h.fam, a)
	if err != nil {
		return err
	}
	at, replace, err := rulePosition(c, h.flags, a)
	if err != nil {
		return err
	}
	t.handle++
	r.handle = t.handle
	if replace {
		c.rules[at] = r
		return nil
	}
	c.rules = slices.Insert(c.rules, at, r)
	return nil
}

// rulePosition is where a new rule goes in c, and whether it replaces the
// rule there.
func rulePosition(c *chain, flags uint16, a map[uint16][]byte) (at int, replace bool, err error) {
	appendIt := flags&unix.NLM_F_APPEND != 0
	if v, ok := a[unix.NFTA_RULE_HANDLE]; ok {
		if flags&unix.NLM_F_REPLACE == 0 {
			return 0, false, refuse(unix.EOPNOTSUPP, "rule handle without NLM_F_REPLACE")
		}
		i := ruleIndex(c, be64(v))
		if i < 0 {
			return 0, false, refuse(unix.ENOENT, "rule %d not found in chain %s", be64(v), c.decl.Name)
		}
		return i, true, nil
	}
	if v, ok := a[unix.NFTA_RULE_POSITION]; ok {
		i := ruleIndex(c, be64(v))
		if i < 0 {
			return 0, false, refuse(unix.ENOENT, "rule %d not found in chain %s", be64(v), c.decl.Name)
		}
		if appendIt {
			i++
		}
		return i, false, nil
	}
	if appendIt {
		return len(c.rules), false, nil
	}
	return 0, false, nil
}

func ruleIndex(c *chain, handle uint64) int {
	return slices.IndexFunc(c.rules, func(r *rule) bool { return r.handle == handle })
}

// delRule deletes one rule (by handle), flushes a chain (no handle) or
// flushes every chain of the table (no chain).
func (tx *txn) delRule(h header) error {
	t, a, err := tx.lookupTable(h, unix.NFTA_RULE_TABLE)
	if err != nil {
		return err
	}
	if _, ok := a[unix.NFTA_RULE_CHAIN]; !ok {
		for _, c := range t.chains {
			c.rules = nil
		}
		return nil
	}
	name := str(a, unix.NFTA_RULE_CHAIN)
	c := t.chain(name)
	if c == nil {
		return refuse(unix.ENOENT, "chain %s not found", name)
	}
	v, ok := a[unix.NFTA_RULE_HANDLE]
	if !ok {
		c.rules = nil
		return nil
	}
	i := ruleIndex(c, be64(v))
	if i < 0 {
		return refuse(unix.ENOENT, "rule %d not found in chain %s", be64(v), name)
	}
	c.rules = slices.Delete(c.rules, i, i+1)
	return nil
}
