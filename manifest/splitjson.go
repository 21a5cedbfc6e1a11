package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// skip is a JSON sink: the decoder validates the value and hands over its
// bytes, which are dropped without a copy.
type skip struct{}

func (*skip) UnmarshalJSON([]byte) error { return nil }

// jsonHead is what splitJSON learns about one top-level JSON value.
type jsonHead struct {
	kind, apiVersion string
	items            []jsonItem // the list items, when "items" is an array
	hasItems         bool
}

// jsonItem is where a list item is and what it says it is.
type jsonItem struct {
	start, end int
	head       typeMeta
}

// splitJSON splits a stream of JSON values (data[0] is on line base) into
// one unit per value; the items of a list become pieces of their own, with
// their own line numbers. The split is exact: no fallback is needed.
func splitJSON(file string, base int, data []byte) ([]unit, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	lc := lineCounter{data: data, line: base}
	var units []unit
	for {
		start := skipBlanks(data, int(dec.InputOffset()))
		if start == len(data) {
			return units, nil
		}
		h, err := readJSONHead(dec, data)
		if err != nil {
			return nil, jsonError(file, data, base, start, err)
		}
		end := int(dec.InputOffset())
		line := lc.at(start)
		if !isList(h.kind) || !h.hasItems {
			p := piece{file: file, base: line, line: line, data: data[start:end], json: true, whole: true,
				head: &typeMeta{Kind: h.kind, APIVersion: h.apiVersion}}
			units = append(units, unit{pieces: []piece{p}})
			continue
		}
		// A list without an apiVersion is fine: only an item that lacks
		// one of its own fails (as in the streamed reader).
		u := unit{}
		for _, it := range h.items {
			l := lc.at(it.start)
			u.pieces = append(u.pieces, piece{file: file, base: l, line: l, data: data[it.start:it.end], json: true,
				whole: true, defKind: itemKind(h.kind), defAPIVersion: h.apiVersion, head: &it.head})
		}
		units = append(units, u)
	}
}

// readJSONHead reads one JSON object from dec, keeping its kind and
// apiVersion and the offsets of its items.
func readJSONHead(dec *json.Decoder, data []byte) (jsonHead, error) {
	var h jsonHead
	tok, err := dec.Token()
	if err != nil {
		return h, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return h, errors.New("document is not an object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return h, err
		}
		off := valueBase(data, dec.InputOffset())
		switch key {
		case "kind":
			err = dec.Decode(&h.kind)
			shiftOffset(err, off)
		case "apiVersion":
			err = dec.Decode(&h.apiVersion)
			shiftOffset(err, off)
		case "items":
			h.items, h.hasItems, err = readJSONItems(dec, data)
		default:
			err = dec.Decode(&skip{})
		}
		var se *json.SyntaxError
		if err != nil && !errors.As(err, &se) {
			err = fmt.Errorf("%v: %w", key, err)
		}
		if err != nil {
			return h, err
		}
	}
	_, err = dec.Token() // the closing brace
	return h, err
}

// readJSONItems reads the value of "items": where each element of an
// array is and its kind, nothing for null.
func readJSONItems(dec *json.Decoder, data []byte) ([]jsonItem, bool, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, false, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, false, errors.New("not an array")
	}
	var items []jsonItem
	for dec.More() {
		base := valueBase(data, dec.InputOffset())
		it := jsonItem{start: skipBlanks(data, int(dec.InputOffset()))}
		if err := dec.Decode(&it.head); err != nil {
			shiftOffset(err, base)
			return nil, false, err
		}
		it.end = int(dec.InputOffset())
		items = append(items, it)
	}
	_, err = dec.Token() // the closing bracket
	return items, true, err
}

// skipBlanks returns the offset of the next byte that is not JSON
// whitespace or the comma between two array elements.
func skipBlanks(data []byte, off int) int {
	for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
		off++
	}
	return off
}

// jsonError places a JSON error on its line: the exact line for syntax and
// type errors (which carry an offset), the value's line otherwise.
func jsonError(file string, data []byte, base, start int, err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &Error{File: file, Line: lineOf(data, base, se.Offset), Err: err}
	case errors.As(err, &te):
		return &Error{File: file, Line: lineOf(data, base, te.Offset), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{File: file, Line: lineOf(data, base, int64(len(data))), Err: err}
	}
	return &Error{File: file, Line: lineOf(data, base, int64(start)), Err: err}
}

// isList reports whether kind names a list ("List", "ServiceList", ...).
func isList(kind string) bool { return strings.HasSuffix(kind, "List") }

// itemKind is the kind the items of a typed list have ("" for "List").
func itemKind(listKind string) string { return strings.TrimSuffix(listKind, "List") }

// valueBase is where a json.Decoder starts reading the next value when its
// input offset is off: after the comma or colon that precedes the value.
func valueBase(data []byte, off int64) int64 {
	i := int(off)
	for i < len(data) && strings.IndexByte(" \t\r\n", data[i]) >= 0 {
		i++
	}
	if i < len(data) && (data[i] == ',' || data[i] == ':') {
		return int64(i + 1)
	}
	return off
}

// shiftOffset makes the offset of a type error, which a json.Decoder counts
// from base (see valueBase), count from the start of the data.
func shiftOffset(err error, base int64) {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		te.Offset += base
	}
}
