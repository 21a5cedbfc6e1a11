package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/yaml"
)

// object is one decoded object and where it came from.
type object struct {
	line             int
	apiVersion, kind string
	namespace, name  string
	// obj is a *corev1.Service, *discoveryv1.EndpointSlice or *corev1.Node,
	// or nil for an object of another kind.
	obj any
}

// typeMeta is the part of an object that says what it is.
type typeMeta struct {
	Kind       string             `json:"kind"`
	APIVersion string             `json:"apiVersion"`
	Items      *[]json.RawMessage `json:"items"`
}

// metaHead is the identity of an object; decoded best effort, for notices.
type metaHead struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// decodePiece decodes one piece into the objects it holds (none for an
// empty document, several for a list that was not split) and the errors
// of those it could not decode, which are skipped.
func decodePiece(p piece) ([]object, []error) {
	raw := p.data
	if !p.json {
		var err error
		if raw, err = yamlToJSON(p.data); err != nil {
			return nil, []error{yamlError(p.file, p.base, err)}
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	return decodeValue(p, raw, p.line, p.whole)
}

// yamlToJSON converts a YAML document: kubectl's plain block style
// directly, anything else with sigs.k8s.io/yaml.
func yamlToJSON(data []byte) ([]byte, error) {
	if out, ok := blockYAMLToJSON(data); ok {
		return out, nil
	}
	return yaml.YAMLToJSON(data)
}

// decodeValue decodes one JSON value. whole tells whether raw is the
// entire piece (so JSON offsets and a YAML retry apply).
func decodeValue(p piece, raw []byte, line int, whole bool) ([]object, []error) {
	fail := func(err error) ([]object, []error) { return nil, []error{err} }
	if raw[0] != '{' {
		return fail(&Error{File: p.file, Line: line, Err: errors.New("document is not an object")})
	}
	h, err := p.typeMeta(raw, line, whole)
	if err != nil {
		return fail(err)
	}
	if h.Kind == "" {
		h.Kind = p.defKind
	}
	if h.APIVersion == "" {
		h.APIVersion = p.defAPIVersion
	}
	switch {
	case h.Kind == "":
		return fail(&Error{File: p.file, Line: line, Err: errors.New("document has no kind")})
	case isList(h.Kind):
		// A list's apiVersion is only the default of its items' (kubectl
		// writes "v1"; a list without one is read as the streamed reader
		// reads it).
		return decodeItems(p, h, line)
	case h.APIVersion == "":
		return fail(&Error{File: p.file, Line: line, Err: fmt.Errorf("%s has no apiVersion", h.Kind)})
	}
	o, err := decodeKind(p, raw, line, whole, h)
	if err != nil {
		return fail(err)
	}
	return []object{o}, nil
}

// typeMeta returns what raw says it is, from the splitter when it knows.
func (p piece) typeMeta(raw []byte, line int, whole bool) (typeMeta, error) {
	if p.head != nil && whole && !isList(p.head.Kind) {
		return *p.head, nil
	}
	if h, ok := fastTypeMeta(raw); ok {
		return h, nil
	}
	var h typeMeta
	if err := json.Unmarshal(raw, &h); err != nil {
		return h, p.jsonError(raw, line, whole, err)
	}
	return h, nil
}

// decodeItems decodes the items of a list that was not split: they all
// share the list's line.
func decodeItems(p piece, h typeMeta, line int) ([]object, []error) {
	if h.Items == nil {
		return nil, nil
	}
	item := p
	item.defKind, item.defAPIVersion = itemKind(h.Kind), h.APIVersion
	var out []object
	var errs []error
	for _, raw := range *h.Items {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		objs, more := decodeValue(item, raw, line, false)
		out, errs = append(out, objs...), append(errs, more...)
	}
	return out, errs
}

// decodeKind decodes raw into the typed object its head names.
func decodeKind(p piece, raw []byte, line int, whole bool, h typeMeta) (object, error) {
	o := object{line: line, kind: h.Kind, apiVersion: h.APIVersion}
	var err error
	switch {
	case h.APIVersion == "v1" && h.Kind == "Service":
		var svc *corev1.Service
		svc, err = decodeTyped[corev1.Service](p, raw, line, whole, h.Kind)
		if err == nil {
			svc.Kind, svc.APIVersion = h.Kind, h.APIVersion
			svc.Namespace = defaultNamespace(svc.Namespace)
			trimService(svc)
			o.obj, o.namespace, o.name = svc, svc.Namespace, svc.Name
		}
	case h.APIVersion == "discovery.k8s.io/v1" && h.Kind == "EndpointSlice":
		var eps *discoveryv1.EndpointSlice
		eps, err = decodeTyped[discoveryv1.EndpointSlice](p, raw, line, whole, h.Kind)
		if err == nil {
			eps.Kind, eps.APIVersion = h.Kind, h.APIVersion
			eps.Namespace = defaultNamespace(eps.Namespace)
			trimEndpointSlice(eps)
			o.obj, o.namespace, o.name = eps, eps.Namespace, eps.Name
		}
	case h.APIVersion == "v1" && h.Kind == "Node":
		var node *corev1.Node
		node, err = decodeTyped[corev1.Node](p, raw, line, whole, h.Kind)
		if err == nil {
			node.Kind, node.APIVersion = h.Kind, h.APIVersion
			trimNode(node)
			o.obj, o.namespace, o.name = node, "", node.Name
		}
	default:
		var m metaHead
		_ = json.Unmarshal(raw, &m) // names of ignored objects are only for notices
		o.namespace, o.name = m.Metadata.Namespace, m.Metadata.Name
	}
	return o, err
}

// decodeTyped decodes raw into a new T. JSON converted from YAML loses
// YAML's coercion of unquoted numbers and booleans into string fields
// (labels like `version: 2`); on a type error the original YAML is decoded
// again with that coercion before giving up.
func decodeTyped[T any](p piece, raw []byte, line int, whole bool, kind string) (*T, error) {
	obj := new(T)
	err := json.Unmarshal(raw, obj)
	if err == nil {
		return obj, nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && whole && !p.json {
		retry := new(T)
		if yaml.Unmarshal(p.data, retry) == nil {
			return retry, nil
		}
	}
	e := p.jsonError(raw, line, whole, err)
	e.Err = fmt.Errorf("%s: %w", kind, e.Err)
	return nil, e
}

// jsonError places an error from decoding raw: on the exact line when raw
// is JSON text straight from the file, on the piece's line otherwise.
func (p piece) jsonError(raw []byte, line int, whole bool, err error) *Error {
	if !p.json || !whole {
		return &Error{File: p.file, Line: line, Err: err}
	}
	return jsonError(p.file, raw, line, 0, err)
}

func defaultNamespace(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
