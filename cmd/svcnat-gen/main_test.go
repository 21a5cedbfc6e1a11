package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/manifest"
)

func TestRun(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "yaml"} {
		out := filepath.Join(t.TempDir(), "cluster."+format)
		args := []string{"--services", "30", "--endpoints", "2", "--nodeport-fraction", "0", "--seed", "5",
			"--format", format, "-o", out}
		if err := run(args, nil); err != nil {
			t.Fatal(err)
		}
		in, err := manifest.Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Services) != 30 || len(in.EndpointSlices) != 30 || len(in.Nodes) != 10 {
			t.Errorf("%s: %d Services, %d slices, %d nodes", format, len(in.Services), len(in.EndpointSlices), len(in.Nodes))
		}
		for _, svc := range in.Services {
			if svc.Spec.Type != "ClusterIP" {
				t.Errorf("--nodeport-fraction 0 gave a %s Service", svc.Spec.Type)
			}
		}
	}
}

func TestRunStdout(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := run([]string{"--services", "2"}, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"apiVersion":"v1","kind":"List"`) {
		t.Errorf("output starts %.60q", buf.String())
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--services", "-3"},
		{"--service-cidr", "nonsense"},
		{"--format", "xml"},
		{"extra"},
		{"--services", "300", "--service-cidr", "10.0.0.0/24"},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q): no error", args)
		}
	}
}
