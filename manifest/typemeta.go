package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
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
