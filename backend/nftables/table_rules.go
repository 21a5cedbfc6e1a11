package nftables

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
	"github.com/svcnat/svcnat/synth"
)

// text is the rule as nft writes it.
func (r rule) text(f synth.Family) string {
	parts := make([]string, 0, len(r.stmts)+1)
	for _, s := range r.stmts {
		parts = append(parts, s.text(f))
	}
	if r.comment != "" {
		parts = append(parts, `comment "`+comment(r.comment)+`"`)
	}
	return strings.Join(parts, " ")
}

// ruleExprs are the rule's netlink expressions.
func ruleExprs(f synth.Family, r *rule) []expr.Any {
	var out []expr.Any
	for _, s := range r.stmts {
		out = append(out, s.exprs(f)...)
	}
	return out
}

// ruleUserdata is a rule's user data: its comment, as nft writes it.
func ruleUserdata(r *rule) []byte {
	if r.comment == "" {
		return nil
	}
	return userdata.AppendString(nil, userdata.TypeComment, comment(r.comment))
}

// ruleMatcher tells whether a rule the kernel dumped (its expressions and
// user data, as netlink attributes) is exactly a wanted rule.
type ruleMatcher struct {
	memo map[string]bool // see sameExpr
	key  []byte
	fam  byte
	f    synth.Family
}

func newRuleMatcher(f synth.Family) ruleMatcher {
	fam := byte(unix.NFPROTO_IPV4)
	if f == synth.IPv6 {
		fam = unix.NFPROTO_IPV6
	}
	return ruleMatcher{memo: map[string]bool{}, fam: fam, f: f}
}

// same compares one kernel rule with a wanted rule exactly: the user data
// byte for byte, and every expression as google/nftables marshals it.
func (rc *ruleMatcher) same(r *rule, kexprs, udata []byte) bool {
	if !bytes.Equal(ruleUserdata(r), udata) {
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
func (rc *ruleMatcher) sameExpr(e expr.Any, kernel []byte) bool {
	e = nfnl.DumpForm(e)
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
