package source

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/synth"
)

// merger unions the content of several files, keeping the first
// definition of each object.
type merger struct {
	in   synth.Input
	seen map[string]string // "kind ns/name" -> file
}

func newMerger() *merger { return &merger{seen: map[string]string{}} }

func (m *merger) add(file string, in synth.Input) []error {
	var errs []error
	for _, s := range in.Services {
		if err := m.claim(file, "Service", s.ObjectMeta); err != nil {
			errs = append(errs, err)
			continue
		}
		m.in.Services = append(m.in.Services, s)
	}
	for _, s := range in.EndpointSlices {
		if err := m.claim(file, "EndpointSlice", s.ObjectMeta); err != nil {
			errs = append(errs, err)
			continue
		}
		m.in.EndpointSlices = append(m.in.EndpointSlices, s)
	}
	for _, n := range in.Nodes {
		if err := m.claim(file, "Node", n.ObjectMeta); err != nil {
			errs = append(errs, err)
			continue
		}
		m.in.Nodes = append(m.in.Nodes, n)
	}
	return errs
}

func (m *merger) claim(file, kind string, meta metav1.ObjectMeta) error {
	key := kind + " " + meta.Namespace + "/" + meta.Name
	if first, ok := m.seen[key]; ok {
		return fmt.Errorf("%s: %s is also defined in %s; using that one", file, key, first)
	}
	m.seen[key] = file
	return nil
}
