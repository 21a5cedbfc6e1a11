package manifest

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
)

// blockYAMLToJSON converts the plain block-style YAML that kubectl and
// svcnat-gen write (mappings and sequences by indentation, one scalar per
// line, "|" literals, printable ASCII) into the JSON sigs.k8s.io/yaml would
// make of it.
// It does the work of a general YAML parser only for that subset, in a
// fraction of its time: YAML parsing was most of the CPU of reading a large
// cluster dump. ok is false for anything outside the subset (flow
// collections other than {} and [], anchors, tags, folded or chomped
// block scalars, multi-line or escaped scalars, values YAML 1.1 might read as a float,
// timestamp or boolean, comments after a value, tabs, non-ASCII text), and
// the caller then converts with sigs.k8s.io/yaml, so the result and the
// errors are unchanged. Keys are written sorted, as json.Marshal of a map
// writes them, so that decoding reports type errors in the same order.
// FuzzBlockYAMLMatchesYAML checks the subset against sigs.k8s.io/yaml.
func blockYAMLToJSON(data []byte) (out []byte, ok bool) {
	ls, ok := contentLines(data)
	if !ok {
		return nil, false
	}
	if len(ls) == 0 {
		return []byte("null"), true
	}
	if ls[0].ind != 0 {
		return nil, false // an indented document: leave it to the parser
	}
	p := blockParser{lines: ls, total: bytes.Count(data, []byte("\n")) + 1, finalNewline: bytes.HasSuffix(data, []byte("\n"))}
	v, next, ok := p.node(0, ls[0].ind)
	if !ok || next != len(ls) {
		return nil, false
	}
	return v.appendJSON(make([]byte, 0, len(data))), true
}

// yLine is one line with content: its indentation, the text after it
// without trailing blanks, the whole line and its number among all lines.
type yLine struct {
	ind       int
	text, raw []byte
	n         int
}

// contentLines returns the lines that hold more than blanks or a comment.
// ok is false when data has a byte outside printable ASCII and newline.
func contentLines(data []byte) (ls []yLine, ok bool) {
	ls = make([]yLine, 0, bytes.Count(data, []byte("\n"))+1)
	for _, c := range data {
		if (c < ' ' && c != '\n') || c > '~' {
			return nil, false
		}
	}
	n := 0
	for _, l := range lines(data) {
		l = bytes.TrimSuffix(l, []byte("\n"))
		text := bytes.TrimLeft(l, " ")
		n++
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		ls = append(ls, yLine{ind: len(l) - len(text), text: bytes.TrimRight(text, " "), raw: l, n: n})
	}
	return ls, true
}

// yValue is a parsed value: a JSON literal (number, true, false, null), a
// string, a mapping or a sequence. Scalars point into the document, so
// that parsing allocates little more than the lists.
type yValue struct {
	kind byte
	text []byte   // yLiteral: the JSON text; yString: the string's bytes
	keys [][]byte // yMap
	vals []yValue // yMap, ySeq
}

const (
	yLiteral = iota
	yString
	yMap
	ySeq
)

var yNull = yValue{kind: yLiteral, text: []byte("null")}

type blockParser struct {
	lines        []yLine
	total        int  // lines in the document, content or not
	finalNewline bool // the document's last line ends with a newline
}

// node parses the block starting at line i, whose indentation is ind.
func (p *blockParser) node(i, ind int) (yValue, int, bool) {
	if isDash(p.lines[i].text) {
		return p.seq(i, ind)
	}
	return p.mapping(i, ind)
}

// mapping parses the "key: value" lines at indentation ind from line i.
func (p *blockParser) mapping(i, ind int) (yValue, int, bool) {
	v := yValue{kind: yMap}
	for i < len(p.lines) {
		l := p.lines[i]
		if l.ind < ind || (l.ind == ind && isDash(l.text)) {
			break
		}
		if l.ind > ind {
			return yValue{}, i, false
		}
		key, rest, ok := cutKey(l.text)
		if !ok || slices.ContainsFunc(v.keys, func(k []byte) bool { return bytes.Equal(k, key) }) {
			return yValue{}, i, false
		}
		val, next, ok := p.value(i, ind, rest)
		if !ok {
			return yValue{}, i, false
		}
		v.keys, v.vals, i = append(v.keys, key), append(v.vals, val), next
	}
	return v, i, true
}

// value parses what follows "key:" on line i: a scalar on the same line,
// or the block below (a sequence may be at the key's own indentation).
func (p *blockParser) value(i, ind int, rest []byte) (yValue, int, bool) {
	if string(rest) == "|" {
		return p.literal(i, ind)
	}
	if len(rest) > 0 {
		s, ok := scalarJSON(rest)
		return s, i + 1, ok
	}
	if j := i + 1; j < len(p.lines) {
		switch next := p.lines[j]; {
		case next.ind > ind:
			return p.node(j, next.ind)
		case next.ind == ind && isDash(next.text):
			return p.seq(j, ind)
		}
	}
	return yNull, i + 1, true
}

// literal parses the block scalar "key: |" on line i (kubectl writes
// last-applied-configuration so): the lines below, indented more than the
// key, kept as they are. Blank and comment lines belong to a literal, and
// contentLines dropped them, so a literal with any is left to the parser.
func (p *blockParser) literal(i, ind int) (yValue, int, bool) {
	j := i + 1
	if j == len(p.lines) || p.lines[j].ind <= ind {
		return yValue{}, i, false
	}
	col := p.lines[j].ind
	var text []byte
	for ; j < len(p.lines) && p.lines[j].ind > ind; j++ {
		l := p.lines[j]
		if l.ind < col || l.n != p.lines[j-1].n+1 {
			return yValue{}, i, false
		}
		text = append(append(text, l.raw[col:]...), '\n')
	}
	if end := p.total; j < len(p.lines) {
		end = p.lines[j].n
		if end != p.lines[j-1].n+1 {
			return yValue{}, i, false
		}
	} else if p.lines[j-1].n < end-1 || !p.finalNewline {
		// Blank lines after it, or no newline at the end: YAML's
		// chomping rules, left to the parser.
		return yValue{}, i, false
	}
	return yValue{kind: yString, text: text}, j, true
}

// seq parses the "- item" lines at indentation ind from line i. An item
// that starts a mapping on the dash's line ("- port: 80") continues at the
// column of its first key.
func (p *blockParser) seq(i, ind int) (yValue, int, bool) {
	v := yValue{kind: ySeq}
	for i < len(p.lines) {
		l := p.lines[i]
		if l.ind < ind || (l.ind == ind && !isDash(l.text)) {
			break
		}
		if l.ind > ind {
			return yValue{}, i, false
		}
		item, next, ok := p.item(i, ind)
		if !ok {
			return yValue{}, i, false
		}
		v.vals, i = append(v.vals, item), next
	}
	return v, i, true
}

// item parses the sequence entry on line i.
func (p *blockParser) item(i, ind int) (yValue, int, bool) {
	rest := p.lines[i].text[1:]
	body := bytes.TrimLeft(rest, " ")
	switch {
	case len(body) == 0: // the item is the block below, or null
		if j := i + 1; j < len(p.lines) && p.lines[j].ind > ind {
			return p.node(j, p.lines[j].ind)
		}
		return yNull, i + 1, true
	case isDash(body):
		return yValue{}, i, false // "- - x": nested on one line
	}
	if _, _, isKey := cutKey(body); isKey || bytes.Contains(body, []byte(": ")) || body[len(body)-1] == ':' {
		// Parse the compact mapping in place: this line becomes its first
		// line, at the column of its first key.
		p.lines[i] = yLine{ind: ind + 1 + len(rest) - len(body), text: body}
		return p.mapping(i, p.lines[i].ind)
	}
	s, ok := scalarJSON(body)
	return s, i + 1, ok
}

// maxImplicitKey is the longest key libyaml and go-yaml read without an
// explicit "? " indicator (a longer one is "mapping values are not allowed
// in this context").
const maxImplicitKey = 1024

// cutKey splits "key: rest" or "key:"; ok is false when the line is not a
// mapping entry with a plain key.
func cutKey(text []byte) (key, rest []byte, ok bool) {
	k, rest, found := bytes.Cut(text, []byte(":"))
	if !found || (len(rest) > 0 && rest[0] != ' ') || !plainKey(k) || yamlWord(k) {
		return nil, nil, false
	}
	return k, bytes.TrimLeft(rest, " "), true
}

// plainKey reports whether k is a key YAML reads as a string whatever
// its resolution rules: it starts with a letter and has no indicator
// characters. (A regular expression took a tenth of the reading time.)
// YAML parsers find an implicit key only within maxImplicitKey bytes.
func plainKey(k []byte) bool {
	if len(k) == 0 || len(k) > maxImplicitKey || !isLetter(k[0]) {
		return false
	}
	for _, c := range k {
		if !isLetter(c) && !(c >= '0' && c <= '9') && c != '.' && c != '_' && c != '/' && c != '-' {
			return false
		}
	}
	return true
}

// yamlWord reports whether s is, in any capitalisation, a word YAML 1.1
// may read as a boolean or null.
func yamlWord(s []byte) bool {
	if len(s) > 5 {
		return false
	}
	for _, w := range []string{"y", "yes", "n", "no", "true", "false", "on", "off", "null"} {
		if strings.EqualFold(string(s), w) {
			return true
		}
	}
	return false
}

var (
	// intRE is an integer that both YAML and JSON read as the same number.
	intRE = regexp.MustCompile(`^(0|-?[1-9][0-9]{0,17})$`)
	// uuidRE is an object's uid: no YAML number or timestamp has four dashes.
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	// dottedRE is a dotted number such as an IPv4 address or CIDR: no YAML
	// number or timestamp has two dots.
	dottedRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+){2,}(/[0-9]+)?$`)
	// ipv6RE is an IPv6 address or CIDR: YAML 1.1's base 60 numbers, which
	// have colons, are not read as numbers by go.yaml.in/yaml/v2.
	ipv6RE = regexp.MustCompile(`^[0-9a-f]+(:[0-9a-f]*){2,}(\.[0-9]+)*(/[0-9]+)?$`)
)

// scalarJSON converts a scalar that fills the rest of a line.
func scalarJSON(s []byte) (yValue, bool) {
	if bytes.Contains(s, []byte(" #")) {
		return yValue{}, false // maybe a comment: leave it to the parser
	}
	switch c := s[0]; {
	case c == '"' || c == '\'':
		return quotedJSON(s)
	case string(s) == "{}":
		return yValue{kind: yMap}, true
	case string(s) == "[]":
		return yValue{kind: ySeq}, true
	case string(s) == "true", string(s) == "false", string(s) == "null":
		return yValue{kind: yLiteral, text: s}, true
	case bytes.Contains(s, []byte(": ")) || s[len(s)-1] == ':':
		return yValue{}, false
	case intRE.Match(s):
		return yValue{kind: yLiteral, text: s}, true
	case isLetter(c) && !yamlWord(s), dottedRE.Match(s), ipv6RE.Match(s), uuidRE.Match(s), quantity(s):
		return yValue{kind: yString, text: s}, true
	}
	return yValue{}, false
}

// quotedJSON converts a quoted scalar without escapes.
func quotedJSON(s []byte) (yValue, bool) {
	q := s[0]
	if len(s) < 2 || s[len(s)-1] != q {
		return yValue{}, false
	}
	inner := s[1 : len(s)-1]
	if bytes.IndexByte(inner, q) >= 0 || (q == '"' && bytes.IndexByte(inner, '\\') >= 0) {
		return yValue{}, false
	}
	return yValue{kind: yString, text: inner}, true
}

// quantity reports whether s is a word that starts with a digit and has a
// letter no YAML number or timestamp has (numbers use a-f, b, e, o and x,
// timestamps t and z): resource quantities such as 8Gi or 100m.
func quantity(s []byte) bool {
	return quantityRE.Match(s) && bytes.ContainsAny(bytes.ToLower(s), "ghijklmnpqrsuvwy")
}

var quantityRE = regexp.MustCompile(`^[0-9][0-9A-Za-z.-]*$`)

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// appendJSONString appends s, printable ASCII and newlines, as a JSON string.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// appendJSON appends v as JSON, mapping keys sorted.
func (v yValue) appendJSON(b []byte) []byte {
	switch v.kind {
	case yMap:
		order := make([]int, len(v.keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(x, y int) int { return bytes.Compare(v.keys[x], v.keys[y]) })
		b = append(b, '{')
		for n, i := range order {
			if n > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, v.keys[i]), ':')
			b = v.vals[i].appendJSON(b)
		}
		return append(b, '}')
	case ySeq:
		b = append(b, '[')
		for n, e := range v.vals {
			if n > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		return append(b, ']')
	case yString:
		return appendJSONString(b, v.text)
	}
	return append(b, v.text...)
}
