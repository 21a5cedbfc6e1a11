package nfnlfake

import (
	"fmt"

	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// newExpr returns an empty expression of the kind the kernel module name
// stands for; only the expressions the tracer evaluates are accepted, so
// a rule the fake cannot trace is refused when it is added rather than
// misread later.
func newExpr(name string) expr.Any {
	switch name {
	case "payload":
		return &expr.Payload{}
	case "meta":
		return &expr.Meta{}
	case "cmp":
		return &expr.Cmp{}
	case "bitwise":
		return &expr.Bitwise{}
	case "lookup":
		return &expr.Lookup{}
	case "immediate":
		return &expr.Immediate{}
	case "nat":
		return &expr.NAT{}
	case "masq":
		return &expr.Masq{}
	case "numgen":
		return &expr.Numgen{}
	case "fib":
		return &expr.Fib{}
	case "ct":
		return &expr.Ct{}
	case "dynset":
		return &expr.Dynset{}
	case "reject":
		return &expr.Reject{}
	case "counter":
		return &expr.Counter{}
	}
	return nil
}

// decodeExprs decodes NFTA_RULE_EXPRESSIONS. An immediate that writes the
// verdict register is returned as an *expr.Verdict.
func decodeExprs(fam nfnl.Family, b []byte) ([]expr.Any, error) {
	var out []expr.Any
	var err error
	nfnl.Attrs(b, func(_ uint16, v []byte) { // any type, as in nla_for_each_nested
		if err != nil {
			return
		}
		a := attrMap(v)
		name := str(a, unix.NFTA_EXPR_NAME)
		e := newExpr(name)
		if e == nil {
			err = refuse(unix.EOPNOTSUPP, "expression %q is not modelled by the fake kernel", name)
			return
		}
		if err = expr.Unmarshal(byte(fam), a[unix.NFTA_EXPR_DATA], e); err != nil {
			err = refuse(unix.EINVAL, "expression %s: %v", name, err)
			return
		}
		if imm, ok := e.(*expr.Immediate); ok && imm.Register == unix.NFT_REG_VERDICT {
			vd := &expr.Verdict{}
			if err = expr.Unmarshal(byte(fam), a[unix.NFTA_EXPR_DATA], vd); err != nil {
				err = refuse(unix.EINVAL, "verdict: %v", err)
				return
			}
			e = vd
		}
		out = append(out, e)
	})
	return out, err
}

// parseRule decodes a NEWRULE's expressions and checks what they refer
// to: sets must exist (by name, or by ID within the batch), a lookup that
// writes a register needs a map, and jumps and gotos need an existing
// regular chain.
func (tx *txn) parseRule(t *table, fam nfnl.Family, a map[uint16][]byte) (*rule, error) {
	raw := a[unix.NFTA_RULE_EXPRESSIONS]
	exprs, err := decodeExprs(fam, raw)
	if err != nil {
		return nil, err
	}
	r := &rule{raw: append([]byte(nil), raw...), exprs: exprs}
	if v, ok := a[unix.NFTA_RULE_USERDATA]; ok {
		r.udata = append([]byte(nil), v...)
	}
	for i, e := range exprs {
		switch x := e.(type) {
		case *expr.Lookup:
			s, err := tx.ruleSet(t, x.SetName, x.SetID)
			if err != nil {
				return nil, err
			}
			if x.IsDestRegSet && s.decl.Flags&unix.NFT_SET_MAP == 0 {
				return nil, refuse(unix.EINVAL, "lookup in %s writes a register, but it is not a map", s.decl.Name)
			}
			exprs[i] = withSetName(x, s.decl.Name)
			r.sets = append(r.sets, s.decl.Name)
		case *expr.Dynset:
			s, err := tx.ruleSet(t, x.SetName, x.SetID)
			if err != nil {
				return nil, err
			}
			r.sets = append(r.sets, s.decl.Name)
		case *expr.Verdict:
			if x.Kind == expr.VerdictJump || x.Kind == expr.VerdictGoto {
				if err := checkTarget(t, x.Chain); err != nil {
					return nil, err
				}
				r.chains = append(r.chains, x.Chain)
			}
		}
	}
	return r, nil
}

// withSetName returns l naming its set (it may have named it by ID only).
func withSetName(l *expr.Lookup, name string) *expr.Lookup {
	c := *l
	c.SetName = name
	return &c
}

func (tx *txn) ruleSet(t *table, name string, id uint32) (*set, error) {
	var idAttr []byte
	if id != 0 {
		idAttr = []byte{byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	}
	s := tx.findSet(t, name, idAttr)
	if s == nil {
		return nil, refuse(unix.ENOENT, "set %s not found", name)
	}
	return s, nil
}

// dumpExprs gives a rule's expressions back as the kernel dumps them
// (nfnl.DumpForm). Each expression is marshalled again from its decoded
// form, as the kernel does from its own.
func dumpExprs(fam nfnl.Family, exprs []expr.Any) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	for _, e := range exprs {
		b, err := expr.Marshal(byte(fam), nfnl.DumpForm(e))
		if err != nil {
			return nil, fmt.Errorf("marshal %T: %w", e, err)
		}
		ae.Bytes(unix.NLA_F_NESTED|unix.NFTA_LIST_ELEM, b)
	}
	return ae.Encode()
}

// regOffset is the byte offset of register r in the register file
// (nft_parse_register): 128-bit registers 1-4 and 32-bit registers 0-15
// overlay the same 64 bytes after the 16-byte verdict.
func regOffset(r uint32) (int, bool) {
	switch {
	case r >= unix.NFT_REG_1 && r <= unix.NFT_REG_4:
		return int(r) * 16, true
	case r >= unix.NFT_REG32_00 && r <= unix.NFT_REG32_15:
		return 16 + int(r-unix.NFT_REG32_00)*4, true
	}
	return 0, false
}

// DecodeRule decodes a rule's expressions (NFTA_RULE_EXPRESSIONS, as
// sent or as dumped) into google/nftables' types, the way the fake
// understands them; tests compare dumps with it.
func DecodeRule(fam nfnl.Family, exprs []byte) ([]expr.Any, error) { return decodeExprs(fam, exprs) }
