package manifest

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/synth"
)

// builder gathers the objects of several files into one Input.
type builder struct {
	in      synth.Input
	ignored []Ignored
	seen    map[objectKey]string // where each object was first seen
}

type objectKey struct{ kind, namespace, name string }

func newBuilder() *builder { return &builder{seen: map[objectKey]string{}} }

// addFile splits, decodes and adds the objects of one file.
func (b *builder) addFile(name string, data []byte) error {
	units, err := splitFile(name, data)
	if err != nil {
		return err
	}
	objs, err := decodeUnits(units)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := b.add(name, o); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) add(file string, o object) error {
	if o.obj == nil {
		b.ignored = append(b.ignored, Ignored{File: file, Line: o.line, APIVersion: o.apiVersion,
			Kind: o.kind, Namespace: o.namespace, Name: o.name})
		return nil
	}
	if o.name == "" {
		return &Error{File: file, Line: o.line, Err: fmt.Errorf("%s has no metadata.name", o.kind)}
	}
	key := objectKey{o.kind, o.namespace, o.name}
	where := fmt.Sprintf("%s:%d", file, o.line)
	if first, ok := b.seen[key]; ok {
		return &Error{File: file, Line: o.line, Err: fmt.Errorf("duplicate %s %s (first at %s)", o.kind, o.id(), first)}
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
	return nil
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
	err  error
}

// decodeUnits decodes every piece in parallel and returns the objects in
// order. When a piece of a unit with a fallback fails, the fallback is
// decoded instead; if that fails too, the piece's (more precise) error wins.
// Of several failing units, the first in the file is reported.
func decodeUnits(units []unit) ([]object, error) {
	var pieces []piece
	for _, u := range units {
		pieces = append(pieces, u.pieces...)
	}
	results := decodeParallel(pieces)
	var out []object
	for _, u := range units {
		rs := results[:len(u.pieces)]
		results = results[len(u.pieces):]
		objs, err := gather(rs)
		if err != nil && u.fallback != nil {
			if fb, fbErr := decodePiece(*u.fallback); fbErr == nil {
				objs, err = fb, nil
			}
		}
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func gather(rs []result) ([]object, error) {
	var objs []object
	for _, r := range rs {
		if r.err != nil {
			return nil, r.err
		}
		objs = append(objs, r.objs...)
	}
	return objs, nil
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
				objs, err := decodePiece(pieces[i])
				results[i] = result{objs, err}
			}
		})
	}
	wg.Wait()
	return results
}
