package manifest

import (
	"bytes"
	"iter"
	"strings"
)

// piece is one chunk of a file that decodes to one object (or to a list
// that could not be split further).
type piece struct {
	file string
	// base is the line of data[0]; line is the line errors and notices cite
	// (the first line with content).
	base, line int
	data       []byte
	// json is set when data is JSON text straight from the file, so that
	// byte offsets in errors map to lines.
	json bool
	// whole is set when data is the whole document, so a failed decode
	// may be retried from the original YAML.
	whole bool
	// defKind and defAPIVersion fill in what the items of a typed list
	// (ServiceList) may leave out.
	defKind, defAPIVersion string
	// head, when set, is the kind and apiVersion the splitter already read,
	// which saves decoding the piece twice.
	head *typeMeta
}

// unit is one document, or one value of a JSON stream: the pieces it was
// split into and, when that split was a guess (a YAML list split by its
// indentation), the whole document to decode instead if a piece fails.
type unit struct {
	pieces   []piece
	fallback *piece
}

// doc is one YAML document of a file.
type doc struct {
	base, line int // line of data[0], line of the first content
	data       []byte
}

// lines yields the offset and the text (with its newline) of each line.
func lines(data []byte) iter.Seq2[int, []byte] {
	return func(yield func(int, []byte) bool) {
		for off := 0; off < len(data); {
			end := len(data)
			if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
				end = off + i + 1
			}
			if !yield(off, data[off:end]) {
				return
			}
			off = end
		}
	}
}

// hasContent reports whether a line is more than blanks and a comment.
func hasContent(l []byte) bool {
	l = bytes.TrimLeft(l, " \t\r\n")
	return len(l) > 0 && l[0] != '#'
}

// isMarker reports whether l is a document marker line ("---" or "...",
// alone or followed by blanks and more text).
func isMarker(l []byte) bool {
	if len(l) < 3 || !(bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("..."))) {
		return false
	}
	return len(l) == 3 || strings.IndexByte(" \t\r\n", l[3]) >= 0
}

// splitDocs cuts data at document markers, dropping documents that hold
// only blanks and comments. Text after a "---" on the same line belongs
// to the next document.
func splitDocs(data []byte) []doc {
	var docs []doc
	cur := doc{base: 1, data: data}
	start, n := 0, 1
	for off, l := range lines(data) {
		if isMarker(l) {
			if cur.line > 0 {
				cur.data = data[start:off]
				docs = append(docs, cur)
			}
			start, cur = off+3, doc{base: n}
			if hasContent(l[3:]) {
				cur.line = n
			}
		} else if cur.line == 0 && hasContent(l) {
			cur.line = n
		}
		n++
	}
	if cur.line > 0 {
		cur.data = data[start:]
		docs = append(docs, cur)
	}
	return docs
}

// firstByte returns the first byte that is not blank or part of a comment.
func firstByte(data []byte) byte {
	for _, l := range lines(data) {
		if hasContent(l) {
			return bytes.TrimLeft(l, " \t")[0]
		}
	}
	return 0
}

// lineCounter converts increasing byte offsets into line numbers.
type lineCounter struct {
	data      []byte
	off, line int
}

func (c *lineCounter) at(off int) int {
	c.line += bytes.Count(c.data[c.off:off], []byte{'\n'})
	c.off = off
	return c.line
}

// lineOf returns the line of data[off] for data whose first byte is on line base.
func lineOf(data []byte, base int, off int64) int {
	if off < 0 || off > int64(len(data)) {
		return base
	}
	return base + bytes.Count(data[:off], []byte{'\n'})
}
