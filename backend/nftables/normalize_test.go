package nftables

import (
	"slices"
	"strings"
)

// normalize makes an `nft list table` output independent of what the
// kernel does not define: the order of chains and sets (creation order)
// and the order of elements (hash order). Everything else is kept.
func normalize(listing string) string {
	var blocks []string
	var cur []string
	var head []string
	for _, line := range strings.Split(listing, "\n") {
		switch {
		case strings.HasPrefix(line, "table "):
			head = append(head, line)
		case strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "\t\t") && strings.HasSuffix(line, "{"):
			cur = []string{line}
		case line == "\t}":
			cur = append(cur, line)
			blocks = append(blocks, strings.Join(sortElements(cur), "\n"))
			cur = nil
		case cur != nil:
			cur = append(cur, line)
		case line == "}":
			slices.Sort(blocks)
			head = append(head, blocks...)
			head = append(head, "}")
			blocks = nil
		}
	}
	return strings.Join(head, "\n")
}

// sortElements rewrites a set block's `elements = { ... }` as one sorted
// element per line.
func sortElements(block []string) []string {
	var out, elems []string
	in := false
	for _, l := range block {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "elements = {") {
			in, t = true, strings.TrimPrefix(t, "elements = {")
		}
		if !in {
			out = append(out, l)
			continue
		}
		end := strings.HasSuffix(t, "}")
		t = strings.TrimSuffix(t, "}")
		elems = append(elems, splitElems(t)...)
		if end {
			in = false
			slices.Sort(elems)
			out = append(out, "\t\telements = {")
			for _, e := range elems {
				out = append(out, "\t\t\t"+e)
			}
			out = append(out, "\t\t}")
			elems = nil
		}
	}
	return out
}

// splitElems splits "a, b comment \"x, y\" : goto c," at commas outside quotes.
func splitElems(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			if e := strings.TrimSpace(b.String()); e != "" {
				out = append(out, e)
			}
			b.Reset()
			continue
		}
		b.WriteRune(r)
	}
	if e := strings.TrimSpace(b.String()); e != "" {
		out = append(out, e)
	}
	return out
}
