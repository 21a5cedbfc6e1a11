package nftables

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// familyKeyword is the nft family of the table.
func familyKeyword(f synth.Family) string { return ipKeyword(f) }

func addrType(f synth.Family) string {
	if f == synth.IPv6 {
		return "ipv6_addr"
	}
	return "ipv4_addr"
}

func (s *set) typeText(f synth.Family) string {
	switch s.kind {
	case kindAddrProtoPort:
		return addrType(f) + " . inet_proto . inet_service : verdict"
	case kindProtoPort:
		return "inet_proto . inet_service : verdict"
	case kindAddrPair:
		return addrType(f) + " . " + addrType(f)
	}
	return addrType(f)
}

// typeofText declares an endpoint map by the expressions of its key and
// value: the slot is a plain integer, which nft can only name this way.
func (s *set) typeofText(f synth.Family) string {
	ip := ipKeyword(f)
	key := "meta l4proto . th dport . numgen random mod 1"
	if s.kind == kindAddrSlot {
		key = ip + " daddr . " + key
	}
	return "typeof " + key + " : " + ip + " daddr . th dport"
}

func (s *set) keyword() string {
	if s.isMap() {
		return "map"
	}
	return "set"
}

// declText is the set's declaration without elements, e.g. for `add set`.
func (s *set) declLines(f synth.Family) []string {
	lines := []string{"type " + s.typeText(f)}
	if s.isEndpointMap() {
		lines[0] = s.typeofText(f)
	}
	switch s.kind {
	case kindPrefix:
		lines = append(lines, "flags interval")
	case kindAffinity:
		lines = append(lines, "flags dynamic,timeout", "timeout "+strconv.Itoa(int(s.timeout))+"s")
	}
	return lines
}

// prioText names a priority the way nft 1.0.6 accepts it: "dstnat" only
// in prerouting (the output hook needs the number).
func prioText(h *hook) string {
	p := h.priority
	if h.hook == "output" && p < prioFilter-10 {
		return strconv.Itoa(int(p))
	}
	switch p {
	case prioDstNAT:
		return "dstnat"
	case prioSrcNAT:
		return "srcnat"
	case prioDstNAT - 10:
		return "dstnat - 10"
	case prioFilter - 10:
		return "filter - 10"
	}
	return strconv.Itoa(int(p))
}

func (h *hook) text() string {
	return fmt.Sprintf("type %s hook %s priority %s; policy accept;", h.typ, h.hook, prioText(h))
}

// render writes the table as one nft block. The leading add+delete makes the
// script replace an existing table atomically instead of failing or merging.
func (t *table) render(b *bytes.Buffer) {
	fam := familyKeyword(t.family)
	fmt.Fprintf(b, "add table %s %s\ndelete table %s %s\n", fam, TableName, fam, TableName)
	fmt.Fprintf(b, "table %s %s {\n", fam, TableName)
	for _, s := range t.sets {
		fmt.Fprintf(b, "\t%s %s {\n", s.keyword(), s.name)
		for _, l := range s.declLines(t.family) {
			fmt.Fprintf(b, "\t\t%s\n", l)
		}
		renderElems(b, s.elems)
		b.WriteString("\t}\n")
	}
	for _, c := range t.chains {
		fmt.Fprintf(b, "\n\tchain %s {\n", c.name)
		if c.hook != nil {
			fmt.Fprintf(b, "\t\t%s\n", c.hook.text())
		}
		for _, r := range c.rules {
			fmt.Fprintf(b, "\t\t%s\n", r.text(t.family))
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("}\n")
}

// renderElems writes a set's `elements = { ... }` block, one element a
// line. The elements are most of the script (≈ 240k lines at 10k
// Services), so each is appended to one reused line buffer, not formatted.
func renderElems(b *bytes.Buffer, es []elem) {
	if len(es) == 0 {
		return
	}
	b.WriteString("\t\telements = {")
	line := make([]byte, 0, 128)
	for i, e := range es {
		line = e.appendText(append(line[:0], "\n\t\t\t"...))
		if i == len(es)-1 {
			line = append(line, " }"...)
		} else {
			line = append(line, ',')
		}
		b.Write(line)
	}
	b.WriteString("\n")
}

// renderedSize guesses the length of t's script, so that the buffer grows
// once: an element line is ≈ 45 bytes, a rule line rarely above 200.
func (t *table) renderedSize() int {
	n := 4096
	for _, s := range t.sets {
		n += 48 * len(s.elems)
	}
	for _, c := range t.chains {
		n += 200 * len(c.rules)
	}
	return n
}

// Render returns the nft script for rs: one block per non-nil Ruleset.
func Render(rs []*synth.Ruleset) ([]byte, error) {
	var b bytes.Buffer
	for _, r := range rs {
		if r == nil {
			continue
		}
		t, err := buildTable(r)
		if err != nil {
			return nil, err
		}
		b.Grow(t.renderedSize())
		t.render(&b)
	}
	return b.Bytes(), nil
}

// textEmitter prints a transaction as nft commands, the form Plan.String shows.
type textEmitter struct{ b strings.Builder }

func (w *textEmitter) line(format string, args ...any) { fmt.Fprintf(&w.b, format+"\n", args...) }

func (w *textEmitter) addTable(t *table) {
	w.line("add table %s %s", familyKeyword(t.family), TableName)
}

func (w *textEmitter) delTable(t *table) {
	w.line("delete table %s %s", familyKeyword(t.family), TableName)
}

func (w *textEmitter) addSet(t *table, s *set) {
	w.line("add %s %s %s %s { %s; }", s.keyword(), familyKeyword(t.family), TableName, s.name,
		strings.Join(s.declLines(t.family), "; "))
}

func (w *textEmitter) delSet(t *table, s *set) {
	w.line("delete %s %s %s %s", s.keyword(), familyKeyword(t.family), TableName, s.name)
}

func (w *textEmitter) flushSet(t *table, s *set) {
	w.line("flush %s %s %s %s", s.keyword(), familyKeyword(t.family), TableName, s.name)
}

func (w *textEmitter) addElems(t *table, s *set, es []elem) {
	for _, e := range es {
		w.line("add element %s %s %s { %s }", familyKeyword(t.family), TableName, s.name, e.text())
	}
}

func (w *textEmitter) delElems(t *table, s *set, es []elem) {
	for _, e := range es {
		w.line("delete element %s %s %s { %s }", familyKeyword(t.family), TableName, s.name, e.key())
	}
}

func (w *textEmitter) addChain(t *table, c *chain) {
	if c.hook != nil {
		w.line("add chain %s %s %s { %s }", familyKeyword(t.family), TableName, c.name, c.hook.text())
		return
	}
	w.line("add chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) flushChain(t *table, c *chain) {
	w.line("flush chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) delChain(t *table, c *chain) {
	w.line("delete chain %s %s %s", familyKeyword(t.family), TableName, c.name)
}

func (w *textEmitter) addRules(t *table, c *chain) {
	for _, r := range c.rules {
		w.line("add rule %s %s %s %s", familyKeyword(t.family), TableName, c.name, r.text(t.family))
	}
}
