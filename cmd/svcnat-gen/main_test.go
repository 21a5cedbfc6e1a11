package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/manifest"

	"github.com/svcnat/svcnat/internal/cliexit"
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
		var stderr bytes.Buffer
		if code := cliexit.Code("svcnat-gen", run(args, &bytes.Buffer{}), &stderr); code != 2 || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("run(%q): exit %d, stderr %q; want 2 and one line", args, code, stderr.String())
		}
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		code := cliexit.Code("svcnat-gen", run([]string{arg}, &stdout), &stderr)
		if code != 0 || stderr.Len() != 0 {
			t.Errorf("%s: exit %d, stderr %q", arg, code, stderr.String())
		}
		for _, want := range []string{"Usage:\n  svcnat-gen [flags]", "Examples:", "--services int", "Exit status"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%s: output lacks %q:\n%s", arg, want, stdout.String())
			}
		}
	}
}
