package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite cmd/svcnat/testdata golden files")

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./cmd/svcnat -run Golden -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test ./cmd/svcnat -run Golden -update accepts):\n%s", path, cmp.Diff(string(want), got))
	}
}

// TestJSONGolden pins the -o json schemas of trace and explain (diff and
// status have theirs in kernel_test.go and status_test.go), and checks
// that -o yaml carries the same document.
func TestJSONGolden(t *testing.T) {
	seed := seedFile(t)
	node := []string{"--node-name", "node-1", "--node-ip", "192.168.1.100", "--cluster-cidr", "10.244.0.0/16"}
	tests := []struct {
		golden string
		args   []string
	}{
		{"trace-nodeport.json", []string{"trace", "-f", seed, "--src", "192.168.1.10", "--dst", "192.168.1.100:30080"}},
		{"trace-hairpin.json", []string{"trace", "-f", seed, "--src", "10.244.1.2", "--dst", "10.96.0.80:80"}},
		{"trace-reject.json", []string{"trace", "-f", seed, "--src", "10.244.1.9", "--dst", "10.96.0.80:81"}},
		{"trace-no-match.json", []string{"trace", "-f", seed, "--src", "10.244.1.9", "--dst", "8.8.8.8:53", "--proto", "udp"}},
		{"explain-seed.json", []string{"explain", "default/my-app-service", "-f", seed}},
		{"explain-other-proxy.json", []string{"explain", "default/my-app-service", "-f", "-"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			stdin := ""
			if tc.args[len(tc.args)-1] == "-" {
				stdin = strings.Replace(seedYAML, "metadata: {name: my-app-service, namespace: default}",
					"metadata: {name: my-app-service, namespace: default, labels: {service.kubernetes.io/service-proxy-name: other}}", 1)
			}
			args := append(append(tc.args, node...), "-o", "json")
			code, out, errOut := run(t, stdin, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			checkGolden(t, tc.golden, out)
			checkYAMLSame(t, stdin, append(tc.args[:len(tc.args):len(tc.args)], append(node, "-o", "yaml")...), out)
		})
	}
}

// checkYAMLSame runs args (with -o yaml) and compares the document with
// the JSON one.
func checkYAMLSame(t *testing.T, stdin string, args []string, jsonOut string) {
	t.Helper()
	code, out, errOut := run(t, stdin, args...)
	if code != 0 {
		t.Fatalf("-o yaml: exit %d: %s", code, errOut)
	}
	fromYAML, err := yaml.YAMLToJSON([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(fromYAML, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(bytes.NewReader([]byte(jsonOut))).Decode(&b); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b, a); d != "" {
		t.Errorf("-o yaml and -o json differ:\n%s", d)
	}
}
