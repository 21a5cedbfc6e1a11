package manifest

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/synth"
)

// builder gathers the objects of several files into one Input. An object
// that cannot be used (it does not decode, has no name, repeats another)
// is skipped and its error kept in errs; the others are kept.
type builder struct {
	in      synth.Input
	ignored []Ignored
	errs    []*Error
	seen    map[objectKey]string // where each object was first seen
}

// problem records err (an *Error, or one about file) and goes on.
func (b *builder) problem(file string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{File: file, Err: err}
	}
	b.errs = append(b.errs, e)
}

type objectKey struct{ kind, namespace, name string }

func newBuilder() *builder { return &builder{seen: map[objectKey]string{}} }

// addFile splits, decodes and adds the objects of one file.
func (b *builder) addFile(name string, data []byte) {
	units, errs := splitFile(name, data)
	for _, err := range errs {
		b.problem(name, err)
	}
	objs, errs := decodeUnits(units)
	for _, err := range errs {
		b.problem(name, err)
	}
	for _, o := range objs {
		b.add(name, o)
	}
}

func (b *builder) add(file string, o object) {
	if o.obj == nil {
		b.ignored = append(b.ignored, Ignored{File: file, Line: o.line, APIVersion: o.apiVersion,
			Kind: o.kind, Namespace: o.namespace, Name: o.name})
		return
	}
	if o.name == "" {
		b.problem(file, &Error{File: file, Line: o.line, Err: fmt.Errorf("%s has no metadata.name", o.kind)})
		return
	}
	key := objectKey{o.kind, o.namespace, o.name}
	where := fmt.Sprintf("%s:%d", file, o.line)
	if first, ok := b.seen[key]; ok {
		b.problem(file, &Error{File: file, Line: o.line, Err: fmt.Errorf("duplicate %s %s (first at %s)", o.kind, o.id(), first)})
		return
	}
	b.seen[key] = where
	switch v := o.obj.(type) {
	case *corev1.Service:
		b.in.Services = append(b.in.Services, v)
	case *discoveryv1.EndpointSlice:
		b.in.EndpointSlices = append(b.in.EndpointSlices, v)
	case *corev1.Node:
		b.in.Nodes = append(b.in.Nodes, v)
	}
}

func (o object) id() string {
	if o.namespace == "" {
		return o.name
	}
	return o.namespace + "/" + o.name
}

// result is the outcome of decoding one piece.
type result struct {
	objs []object
	errs []error
}

// decodeUnits decodes every piece in parallel and returns the objects in
// order, and the errors of the objects it skipped. When a piece of a unit
// with a fallback fails, the fallback is decoded too and wins if it has
// fewer errors; otherwise the pieces' (more precise) errors are kept.
func decodeUnits(units []unit) ([]object, []error) {
	var pieces []piece
	for _, u := range units {
		pieces = append(pieces, u.pieces...)
	}
	results := decodeParallel(pieces)
	var out []object
	var errs []error
	for _, u := range units {
		rs := results[:len(u.pieces)]
		results = results[len(u.pieces):]
		objs, uerrs := gather(rs)
		if len(uerrs) > 0 && u.fallback != nil {
			if fb, fbErrs := decodePiece(*u.fallback); len(fbErrs) < len(uerrs) {
				objs, uerrs = fb, fbErrs
			}
		}
		out, errs = append(out, objs...), append(errs, uerrs...)
	}
	return out, errs
}

func gather(rs []result) ([]object, []error) {
	var objs []object
	var errs []error
	for _, r := range rs {
		objs, errs = append(objs, r.objs...), append(errs, r.errs...)
	}
	return objs, errs
}

// decodeParallel decodes pieces on every CPU; results[i] belongs to pieces[i].
func decodeParallel(pieces []piece) []result {
	results := make([]result, len(pieces))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pieces)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pieces) {
					return
				}
				objs, errs := decodePiece(pieces[i])
				results[i] = result{objs, errs}
			}
		})
	}
	wg.Wait()
	return results
}
