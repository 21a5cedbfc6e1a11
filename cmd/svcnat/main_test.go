package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedFile writes the seed article's Service and its slice to a temp file.
func seedFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(p, []byte(seedYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const seedYAML = `apiVersion: v1
kind: Service
metadata: {name: my-app-service, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.80
  selector: {app: my-app}
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30080}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: my-app-service-1
  namespace: default
  labels: {kubernetes.io/service-name: my-app-service}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: [10.244.1.2], nodeName: node-1}
`

func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code = execute(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	seed := seedFile(t)
	node := []string{"--node-name", "node-1", "--node-ip", "192.168.1.100", "--cluster-cidr", "10.244.0.0/16"}
	tests := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		stdout  []string // substrings
		stderr  []string
		oneLine bool // stderr must be a single line
	}{
		{name: "render nftables", args: append([]string{"render", "-f", seed}, node...), code: 0,
			stdout: []string{"table ip svcnat", "10.96.0.80", "30080", ": 10.244.1.2 . 8080"}},
		{name: "render iptables", args: append([]string{"render", "--backend", "iptables", "-f", seed}, node...), code: 0,
			stdout: []string{"*nat", "SVCNAT-", "10.244.1.2:8080", "30080"}},
		{name: "render stdin", stdin: seedYAML, args: append([]string{"render", "-f", "-"}, node...), code: 0,
			stdout: []string{"10.96.0.80"}},
		{name: "trace nodeport", args: append([]string{"trace", "-f", seed, "--src", "192.168.1.10", "--dst", "192.168.1.100:30080"}, node...),
			code: 0, stdout: []string{"verdict: DNAT", "-> 10.244.1.2:8080", "masquerade: yes"}},
		{name: "trace unserved port", args: append([]string{"trace", "-f", seed, "--src", "10.244.1.9", "--dst", "10.96.0.80:81"}, node...),
			code: 0, stdout: []string{"verdict: REJECT"}},
		{name: "explain", args: append([]string{"explain", "default/my-app-service", "-f", seed}, node...), code: 0,
			stdout: []string{"port 80 -> targetPort 8080", "192.168.1.100:30080 (NodePort) -> Service 10.96.0.80:80 -> pod 10.244.1.2:8080"}},
		{name: "explain unknown service", args: []string{"explain", "nope", "-f", seed}, code: 1, stderr: []string{"not found"}, oneLine: true},
		{name: "unknown flag", args: []string{"render", "--bogus"}, code: 2, stderr: []string{"unknown flag: --bogus"}, oneLine: true},
		{name: "missing file", args: []string{"render", "-f", "/nonexistent.yaml"}, code: 2, stderr: []string{"/nonexistent.yaml"}, oneLine: true},
		{name: "invalid yaml", stdin: "apiVersion: v1\nkind: Service\nmetadata: [\n", args: []string{"render", "-f", "-"}, code: 2,
			stderr: []string{"<stdin>"}, oneLine: true},
		{name: "no input", args: []string{"render"}, code: 2, stderr: []string{"-f FILE"}, oneLine: true},
		{name: "bad backend", args: []string{"render", "-f", seed, "--backend", "ebpf"}, code: 2, stderr: []string{"ebpf"}, oneLine: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{"unknown command"}, oneLine: true},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"svcnat "}},
		{name: "help of an unknown command", args: []string{"help", "frobnicate"}, code: 2, stderr: []string{`no command "frobnicate"`}, oneLine: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: []string{"Commands:", "explain", "completion"}},
		{name: "no command", args: nil, code: 2, stderr: []string{"Usage:", "svcnat [command]", "Exit status"}},
		{name: "unknown command suggests", args: []string{"rendr"}, code: 2, stderr: []string{"did you mean render?"}, oneLine: true},
		{name: "bad output format", args: []string{"trace", "-o", "xml", "-f", seed}, code: 2, stderr: []string{"xml"}, oneLine: true},
		{name: "bad ip family", args: []string{"render", "-f", seed, "--ip-family", "ipv5"}, code: 2, stderr: []string{"ipv5"}, oneLine: true},
		{name: "explain without a name", args: []string{"explain", "-f", seed}, code: 2, stderr: []string{"want exactly one Service"}, oneLine: true},
		{name: "explain two names", args: []string{"explain", "a", "b", "-f", seed}, code: 2, stderr: []string{"got 2 arguments"}, oneLine: true},
		{name: "status flags exclude each other", args: []string{"status", "--address", "127.0.0.1:1", "--netns", "x"}, code: 2,
			stderr: []string{"one or the other"}, oneLine: true},
		{name: "trace ipv6 without ipv6 rules", args: append([]string{"trace", "-f", seed, "--src", "fd00::1", "--dst", "[fd00::2]:80"}, node...),
			code: 0, stdout: []string{"verdict: ACCEPT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if tc.oneLine && strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("stderr is not one line:\n%s", stderr)
			}
		})
	}
}
