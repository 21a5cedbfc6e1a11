package nfnlfake

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// Listing prints every table the kernel holds, nft-like but at the level
// of the kernel's objects: set declarations as numbers, keys and data in
// hex (4-byte fields of a concatenation separated by " . "), rules as
// their expressions with registers. Tables, sets and chains are listed in
// name order and elements in key order, so two kernels holding the same
// objects list the same, whatever order the objects were created in;
// rules keep their order, which matters.
func (k *Kernel) Listing() string {
	rs := k.snapshot()
	tables := slices.Clone(rs.tables)
	slices.SortFunc(tables, func(a, b *table) int { return cmp.Or(cmp.Compare(a.family, b.family), cmp.Compare(a.name, b.name)) })
	var w strings.Builder
	for _, t := range tables {
		listTable(&w, t)
	}
	return w.String()
}

func familyName(f nfnl.Family) string {
	switch f {
	case nfnl.IPv4:
		return "ip"
	case nfnl.IPv6:
		return "ip6"
	}
	return fmt.Sprintf("family-%d", f)
}

func listTable(w *strings.Builder, t *table) {
	fmt.Fprintf(w, "table %s %s flags 0x%x {\n", familyName(t.family), t.name, t.flags)
	sets := slices.Clone(t.sets)
	slices.SortFunc(sets, func(a, b *set) int { return cmp.Compare(a.decl.Name, b.decl.Name) })
	for _, s := range sets {
		listSet(w, s)
	}
	chains := slices.Clone(t.chains)
	slices.SortFunc(chains, func(a, b *chain) int { return cmp.Compare(a.decl.Name, b.decl.Name) })
	for _, c := range chains {
		listChain(w, c)
	}
	w.WriteString("}\n")
}

func listSet(w *strings.Builder, s *set) {
	d := s.decl
	fmt.Fprintf(w, "\tset %s { key %d/%d data %d/%d flags 0x%x", d.Name, d.KeyType, d.KeyLen, d.DataType, d.DataLen, d.Flags)
	if d.HasTimeout {
		fmt.Fprintf(w, " timeout %dms", d.TimeoutMS)
	}
	if len(s.udata) > 0 {
		fmt.Fprintf(w, " udata %x", s.udata)
	}
	w.WriteString(" }\n")
	for _, e := range s.elems {
		fmt.Fprintf(w, "\t\t%s\n", elemText(e))
	}
}

func elemText(e nfnl.Elem) string {
	s := fields(e.Key)
	if e.Flags&intervalEnd != 0 {
		s += " (interval end)"
	}
	if c, ok := userdata.GetString(e.UserData, userdata.TypeComment); ok {
		s += fmt.Sprintf(" comment %q", c)
	}
	switch {
	case e.Chain != "":
		s += " : " + verdictText(expr.VerdictKind(e.Verdict), e.Chain)
	case len(e.Data) > 0:
		s += " : " + fields(e.Data)
	case e.HasData:
		s += " : " + verdictText(expr.VerdictKind(e.Verdict), "")
	}
	return s
}

// fields prints b in hex, 4 bytes (one register) at a time.
func fields(b []byte) string {
	var parts []string
	for len(b) > 4 {
		parts = append(parts, hex.EncodeToString(b[:4]))
		b = b[4:]
	}
	return strings.Join(append(parts, hex.EncodeToString(b)), " . ")
}

func listChain(w *strings.Builder, c *chain) {
	d := c.decl
	fmt.Fprintf(w, "\tchain %s {", d.Name)
	if d.HasHook {
		fmt.Fprintf(w, " type %s hook %d priority %d policy %d;", d.Type, d.Hooknum, d.Priority, d.Policy)
	}
	w.WriteString("\n")
	for _, r := range c.rules {
		parts := make([]string, 0, len(r.exprs)+1)
		for _, e := range r.exprs {
			parts = append(parts, exprText(e))
		}
		if cm, ok := userdata.GetString(r.udata, userdata.TypeComment); ok {
			parts = append(parts, fmt.Sprintf("comment %q", cm))
		}
		fmt.Fprintf(w, "\t\t%s\n", strings.Join(parts, " ; "))
	}
	w.WriteString("\t}\n")
}

// exprText prints one expression, registers in their dumped form.
func exprText(e expr.Any) string {
	switch x := nfnl.DumpForm(e).(type) {
	case *expr.Payload:
		return fmt.Sprintf("payload base%d@%d,%d => r%d", x.Base, x.Offset, x.Len, x.DestRegister)
	case *expr.Meta:
		if x.SourceRegister {
			return fmt.Sprintf("meta set %d <= r%d", x.Key, x.Register)
		}
		return fmt.Sprintf("meta %d => r%d", x.Key, x.Register)
	case *expr.Cmp:
		return fmt.Sprintf("cmp r%d op%d %s", x.Register, x.Op, fields(x.Data))
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise r%d = (r%d & %s) ^ %s", x.DestRegister, x.SourceRegister, fields(x.Mask), fields(x.Xor))
	case *expr.Lookup:
		s := fmt.Sprintf("lookup r%d @%s", x.SourceRegister, x.SetName)
		if x.IsDestRegSet {
			s += fmt.Sprintf(" => r%d", x.DestRegister)
		}
		if x.Invert {
			s += " inverted"
		}
		return s
	case *expr.Immediate:
		return fmt.Sprintf("immediate r%d = %s", x.Register, fields(x.Data))
	case *expr.Verdict:
		return verdictText(x.Kind, x.Chain)
	case *expr.NAT:
		return fmt.Sprintf("nat type%d family%d addr r%d-r%d proto r%d-r%d flags 0x%x", x.Type, x.Family,
			x.RegAddrMin, x.RegAddrMax, x.RegProtoMin, x.RegProtoMax, natFlags(x))
	case *expr.Numgen:
		return fmt.Sprintf("numgen type%d mod %d offset %d => r%d", x.Type, x.Modulus, x.Offset, x.Register)
	}
	return fmt.Sprintf("%T%+v", e, e)
}

func natFlags(x *expr.NAT) uint32 {
	var f uint32
	for _, b := range []struct {
		on   bool
		flag uint32
	}{{x.Random, unix.NF_NAT_RANGE_PROTO_RANDOM}, {x.FullyRandom, unix.NF_NAT_RANGE_PROTO_RANDOM_FULLY}, {x.Persistent, unix.NF_NAT_RANGE_PERSISTENT}} {
		if b.on {
			f |= b.flag
		}
	}
	return f
}

func verdictText(k expr.VerdictKind, chain string) string {
	switch k {
	case expr.VerdictAccept:
		return "accept"
	case expr.VerdictDrop:
		return "drop"
	case expr.VerdictReturn:
		return "return"
	case expr.VerdictJump:
		return "jump " + chain
	case expr.VerdictGoto:
		return "goto " + chain
	case expr.VerdictContinue:
		return "continue"
	}
	return fmt.Sprintf("verdict %d", k)
}
