package nfnlfake

import (
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// jumpStackSize is NFT_JUMP_STACK_SIZE: how deep chains may jump.
const jumpStackSize = 16

// validated validates the tables after a message that added rules or
// elements (err nil), as the kernel does (nft_table_validate) before it
// acknowledges such a message: walking from every base chain through
// jumps, gotos and verdict maps, nothing nests deeper than the jump
// stack (EMLINK, which is also how the kernel reports a loop), and every
// expression is allowed in the hook and chain type it is reached from.
func (tx *txn) validated(err error) error {
	if err != nil {
		return err
	}
	for _, t := range tx.rs.tables {
		for _, c := range t.chains {
			if !c.decl.HasHook {
				continue
			}
			v := validator{t: t, base: c}
			if err := v.visit(c, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

type validator struct {
	t    *table
	base *chain
}

func (v *validator) visit(c *chain, depth int) error {
	if depth >= jumpStackSize {
		return refuse(unix.EMLINK, "chain %s: jumps nest deeper than %d from %s (a loop?)", c.decl.Name, jumpStackSize, v.base.decl.Name)
	}
	for _, r := range c.rules {
		for _, e := range r.exprs {
			if err := v.allowed(c, e); err != nil {
				return err
			}
			for _, to := range v.targets(e) {
				if next := v.t.chain(to); next != nil {
					if err := v.visit(next, depth+1); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// targets are the chains an expression may continue in.
func (v *validator) targets(e expr.Any) []string {
	switch x := e.(type) {
	case *expr.Verdict:
		if x.Kind == expr.VerdictJump || x.Kind == expr.VerdictGoto {
			return []string{x.Chain}
		}
	case *expr.Lookup:
		if !x.IsDestRegSet || x.DestRegister != unix.NFT_REG_VERDICT {
			return nil
		}
		var out []string
		if s := v.t.set(x.SetName); s != nil {
			for _, el := range s.elems {
				if el.Chain != "" {
					out = append(out, el.Chain)
				}
			}
		}
		return out
	}
	return nil
}

// allowed checks the hook and chain type restrictions of the statements
// svcnat uses (each expression's validate callback in the kernel).
func (v *validator) allowed(c *chain, e expr.Any) error {
	hook, typ := v.base.decl.Hooknum, v.base.decl.Type
	var ok bool
	switch x := e.(type) {
	case *expr.NAT:
		ok = typ == "nat" && (x.Type == expr.NATTypeDestNAT && (hook == unix.NF_INET_PRE_ROUTING || hook == unix.NF_INET_LOCAL_OUT) ||
			x.Type == expr.NATTypeSourceNAT && (hook == unix.NF_INET_POST_ROUTING || hook == unix.NF_INET_LOCAL_IN))
	case *expr.Masq:
		ok = typ == "nat" && hook == unix.NF_INET_POST_ROUTING
	case *expr.Reject:
		ok = hook == unix.NF_INET_LOCAL_IN || hook == unix.NF_INET_FORWARD || hook == unix.NF_INET_LOCAL_OUT
	default:
		return nil
	}
	if !ok {
		return refuse(unix.EOPNOTSUPP, "chain %s: %T is not allowed in a %s chain of hook %d (reached from %s)",
			c.decl.Name, e, typ, hook, v.base.decl.Name)
	}
	return nil
}
