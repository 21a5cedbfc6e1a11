package gen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"

	"github.com/svcnat/svcnat/synth"
)

// objects lists the objects of in in the order kubectl get svc,endpointslices,nodes prints them.
func objects(in synth.Input) []any {
	out := make([]any, 0, len(in.Services)+len(in.EndpointSlices)+len(in.Nodes))
	for _, o := range in.Services {
		out = append(out, o)
	}
	for _, o := range in.EndpointSlices {
		out = append(out, o)
	}
	for _, o := range in.Nodes {
		out = append(out, o)
	}
	return out
}

// Write writes in as one JSON document, a v1 List with one item per line.
// JSON is YAML, so this is also a one-document YAML file; it is the fast
// format for large clusters.
func Write(w io.Writer, in synth.Input) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(`{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[`)
	for i, o := range objects(in) {
		data, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("gen: encode item %d: %w", i, err)
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
		bw.Write(data)
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}

// WriteYAML writes in as multi-document YAML, one object per document.
func WriteYAML(w io.Writer, in synth.Input) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	for i, o := range objects(in) {
		data, err := yaml.Marshal(o)
		if err != nil {
			return fmt.Errorf("gen: encode item %d: %w", i, err)
		}
		if i > 0 {
			bw.WriteString("---\n")
		}
		bw.Write(data)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gen: write: %w", err)
	}
	return nil
}
