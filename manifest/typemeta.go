package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"unicode/utf8"
)

// UnmarshalJSON reads kind, apiVersion and items with exact,
// case-sensitive keys, as the API server does (apimachinery decodes with
// sigs.k8s.io/json's case-sensitive mode): `Kind` or `APIVersion` is an
// unknown field, not the type. encoding/json alone matches keys without
// regard to case, and the streamed and whole-file readers, which find the
// type of an object by different routes, disagreed on such keys.
func (h *typeMeta) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil { // null leaves h as it is, as for any struct
		return nil
	}
	if tok != json.Delim('{') {
		return &json.UnmarshalTypeError{Value: jsonKind(tok), Type: reflect.TypeOf(*h)}
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return err
		}
		if err := h.decodeField(dec, key, data); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing brace
	return err
}

// decodeField decodes the value of key into h, or skips it. A type error
// counts its offset from the start of data and names its field, as
// json.Unmarshal's do.
func (h *typeMeta) decodeField(dec *json.Decoder, key json.Token, data []byte) error {
	off := valueBase(data, dec.InputOffset())
	var err error
	switch key {
	case "kind":
		err = dec.Decode(&h.Kind)
	case "apiVersion":
		err = dec.Decode(&h.APIVersion)
	case "items":
		err = dec.Decode(&h.Items)
	default:
		return dec.Decode(&skip{})
	}
	shiftOffset(err, off)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) { // name the field, as a struct's decoding does
		te.Struct, te.Field = "typeMeta", key.(string)
	}
	return err
}

// jsonKind names a JSON token's kind as encoding/json's type errors do.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case bool:
		return "bool"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	}
	return "array"
}

// plainTypeMeta is typeMeta for encoding/json's own struct decoding.
type plainTypeMeta struct {
	Kind       string             `json:"kind"`
	APIVersion string             `json:"apiVersion"`
	Items      *[]json.RawMessage `json:"items"`
}

// fastTypeMeta decodes raw's type in one json.Unmarshal into a plain
// struct, which costs a third of the token-by-token UnmarshalJSON (at 10k
// Services that was a fifth of reading a file). It answers only when the
// result is the same: encoding/json matches keys without regard to case,
// so raw must hold no string that differs from "kind", "apiVersion" or
// "items" in case only, and no escape or non-ASCII byte that could spell
// one; and raw must decode without error (the exact path places errors).
func fastTypeMeta(raw []byte) (typeMeta, bool) {
	if !plainKeys(raw) {
		return typeMeta{}, false
	}
	var p plainTypeMeta
	if json.Unmarshal(raw, &p) != nil {
		return typeMeta{}, false
	}
	return typeMeta(p), true
}

// typeKeys are the keys typeMeta reads.
var typeKeys = [...]string{"kind", "apiVersion", "items"}

// plainKeys reports whether raw is ASCII without escapes and every quoted
// string that equals a typeKey without regard to case equals it exactly
// ("kind", "apiVersion", "items").
func plainKeys(raw []byte) bool {
	for _, c := range raw {
		if c >= utf8.RuneSelf || c == '\\' {
			return false
		}
	}
	for i := bytes.IndexByte(raw, '"'); i >= 0; {
		rest := raw[i+1:]
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return true
		}
		if s := rest[:end]; len(s) <= len("apiVersion") {
			for _, k := range typeKeys {
				if bytes.EqualFold(s, []byte(k)) && string(s) != k {
					return false
				}
			}
		}
		next := bytes.IndexByte(rest[end+1:], '"')
		if next < 0 {
			return true
		}
		i += 1 + end + 1 + next
	}
	return true
}
