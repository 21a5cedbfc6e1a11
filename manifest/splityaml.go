package manifest

import (
	"bytes"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
)

// itemsKeyRE matches the top-level "items:" key of a block-style list.
var itemsKeyRE = regexp.MustCompile(`^items:[ \t]*(#.*)?\r?\n?$`)

// splitYAML turns one YAML document into a unit. A kubectl list is split
// into one piece per item without parsing it: parsing the items one by one
// is much faster than parsing a 100 MB document at once, and gives each
// item its own line in errors. The split relies on indentation, so the
// whole document is kept as the fallback.
func splitYAML(file string, d doc) unit {
	whole := piece{file: file, base: d.base, line: d.line, data: d.data, whole: true}
	header, items, ok := cutYAMLItems(file, d)
	if !ok {
		return unit{pieces: []piece{whole}}
	}
	var h typeMeta // case-sensitive keys, as everywhere else
	if err := yaml.Unmarshal(header, &h); err != nil || !isList(h.Kind) || h.APIVersion == "" {
		return unit{pieces: []piece{whole}}
	}
	for i := range items {
		items[i].defKind, items[i].defAPIVersion = itemKind(h.Kind), h.APIVersion
	}
	return unit{pieces: items, fallback: &whole}
}

// itemCutter holds the state of cutYAMLItems while it walks the lines.
type itemCutter struct {
	file   string
	indent int // column of the items' "-", -1 until the first item
	cur    *bytes.Buffer
	line   int
	items  []piece
}

// cutYAMLItems splits a document with a top-level block sequence "items:"
// into the text without the sequence and one piece per element, each
// de-indented into a document of its own. ok is false when the document has
// no such sequence or its layout is not one this can cut safely.
func cutYAMLItems(file string, d doc) (header []byte, items []piece, ok bool) {
	var hdr bytes.Buffer
	c := itemCutter{file: file, indent: -1}
	const before, inside, after = 0, 1, 2
	state, n := before, d.base
	for _, l := range lines(d.data) {
		switch state {
		case before:
			hdr.Write(l)
			if itemsKeyRE.Match(l) {
				state = inside
			}
		case inside:
			done, ok := c.add(n, l)
			if !ok {
				return nil, nil, false
			}
			if done {
				state = after
				hdr.Write(l)
			}
		case after:
			hdr.Write(l)
		}
		n++
	}
	if state == before {
		return nil, nil, false
	}
	c.flush()
	return hdr.Bytes(), c.items, true
}

// add takes line l (number n) of the items sequence. done reports the first
// line after the sequence; ok is false for a layout add cannot cut.
func (c *itemCutter) add(n int, l []byte) (done, ok bool) {
	ind := len(l) - len(bytes.TrimLeft(l, " "))
	if c.cur != nil && ind >= c.indent+2 {
		c.cur.Write(l[c.indent+2:])
		return false, true
	}
	if !hasContent(l) {
		if c.cur != nil {
			c.cur.WriteByte('\n')
		}
		return false, true
	}
	if c.indent < 0 && isDash(l[ind:]) {
		c.indent = ind
	}
	switch {
	case ind == c.indent && isDash(l[ind:]):
		c.flush()
		c.cur, c.line = &bytes.Buffer{}, n
		if len(l) > ind+2 {
			c.cur.Write(l[ind+2:])
		} else {
			c.cur.WriteByte('\n')
		}
		return false, true
	case ind == 0:
		return true, true
	}
	return false, false
}

func (c *itemCutter) flush() {
	if c.cur == nil {
		return
	}
	c.items = append(c.items, piece{file: c.file, base: c.line, line: c.line, data: c.cur.Bytes(), whole: true})
	c.cur = nil
}

// isDash reports whether s starts a block sequence entry ("- x" or "-").
func isDash(s []byte) bool {
	return len(s) > 0 && s[0] == '-' && (len(s) == 1 || strings.IndexByte(" \r\n", s[1]) >= 0)
}

// rawJSON reports whether data looks like JSON text: its first content is
// an object or array.
func rawJSON(data []byte) bool {
	b := firstByte(data)
	return b == '{' || b == '['
}
