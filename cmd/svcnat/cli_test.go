package main

import (
	"github.com/svcnat/svcnat/kubeproxy"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/internal/version"
)

// commandNames lists every command of the tree but cobra's hidden ones.
func commandNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, c := range newRoot(&env{}).Commands() {
		if !c.Hidden {
			names = append(names, c.Name())
		}
	}
	for _, want := range []string{"run", "render", "apply", "diff", "cleanup", "trace", "explain", "status", "version", "help", "completion"} {
		if !slices.Contains(names, want) {
			t.Fatalf("command %q missing from %v", want, names)
		}
	}
	return names
}

// TestHelp checks that every command answers --help and `svcnat help CMD`
// with exit 0, the same text on stdout, a synopsis, examples and the exit
// statuses.
func TestHelp(t *testing.T) {
	for _, name := range commandNames(t) {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, "", name, "--help")
			if code != 0 || errOut != "" {
				t.Fatalf("svcnat %s --help: exit %d, stderr %q", name, code, errOut)
			}
			for _, want := range []string{"Usage:\n  svcnat " + name, "Exit status: 0 success, 1 failure, 2 usage error"} {
				if !strings.Contains(out, want) {
					t.Errorf("svcnat %s --help lacks %q:\n%s", name, want, out)
				}
			}
			if name != "help" && name != "completion" && !strings.Contains(out, "Examples:\n  svcnat ") {
				t.Errorf("svcnat %s --help has no examples:\n%s", name, out)
			}
			code, viaHelp, _ := run(t, "", "help", name)
			if code != 0 || viaHelp != out {
				t.Errorf("svcnat help %s: exit %d, differs from --help:\n%s", name, code, viaHelp)
			}
		})
	}
}

func TestHelpDescribesArguments(t *testing.T) {
	_, out, _ := run(t, "", "explain", "--help")
	for _, want := range []string{"explain [NAMESPACE/]NAME -f FILE...", "the Service NAME (in NAMESPACE, default", "-o, --output FORMAT"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain --help lacks %q:\n%s", want, out)
		}
	}
	_, out, _ = run(t, "", "render", "--help")
	for _, want := range []string{"--ip-family FAMILY", "--node-name NAME", "--hostname-override NAME", "--node-ip IP", "--bind-address IP"} {
		if !strings.Contains(out, want) {
			t.Errorf("render --help lacks %q:\n%s", want, out)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "__start_svcnat",
		"zsh":  "#compdef svcnat",
		"fish": "complete -c svcnat",
	} {
		code, out, errOut := run(t, "", "completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, stderr %q, output lacks %q", shell, code, errOut, want)
		}
	}
	// The scripts call the hidden __complete command: commands, and the
	// values of flags that take one of a few.
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "ren"}, []string{"render"}},
		{[]string{"__complete", "render", "--backend", ""}, []string{"nftables", "iptables"}},
		{[]string{"__complete", "render", "--ip-family", ""}, []string{"ipv4", "ipv6"}},
		{[]string{"__complete", "trace", "-o", ""}, []string{"text", "json", "yaml"}},
		{[]string{"__complete", "status", "--output", "j"}, []string{"json"}},
	}
	for _, tc := range tests {
		code, out, _ := run(t, "", tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d", tc.args, code)
		}
		var words []string
		for _, line := range strings.Split(out, "\n") {
			word, _, _ := strings.Cut(line, "\t") // a description may follow
			words = append(words, word)
		}
		for _, w := range tc.want {
			if !slices.Contains(words, w) {
				t.Errorf("%v: completions lack %q:\n%s", tc.args, w, out)
			}
		}
	}
	if code, _, _ := run(t, "", "completion", "tcsh"); code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2", code)
	}
}

func TestVersion(t *testing.T) {
	want := "svcnat " + version.Version() + "\n"
	code, out, _ := run(t, "", "--version")
	if code != 0 || out != want {
		t.Errorf("--version: exit %d, %q, want %q", code, out, want)
	}
	code, out, _ = run(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, want) || !strings.Contains(out, "go: go") {
		t.Errorf("version: exit %d, %q, want it to start with %q", code, out, want)
	}
}

// TestStrayArguments checks every command that takes no argument rejects
// one with exit 2, wherever it stands.
func TestStrayArguments(t *testing.T) {
	seed := seedFile(t)
	for _, args := range [][]string{
		{"render", "extra-arg", "-f", seed},
		{"render", "-f", seed, "extra-arg"},
		{"apply", "extra-arg", "-f", seed},
		{"diff", "extra-arg", "-f", seed},
		{"cleanup", "extra-arg"},
		{"trace", "extra-arg", "-f", seed, "--src", "1.2.3.4", "--dst", "10.96.0.80:80"},
		{"status", "extra-arg"},
		{"version", "extra-arg"},
		{"run", "extra-arg"},
	} {
		code, out, errOut := run(t, "", args...)
		if code != 2 || out != "" || !strings.Contains(errOut, `unexpected argument "extra-arg"`) {
			t.Errorf("svcnat %v: exit %d, stdout %q, stderr %q; want exit 2 and the stray word named", args, code, out, errOut)
		}
	}
}

// TestNodeFlagSpellings checks kube-proxy's spelling of the node flags
// gives the same rules as svcnat's, on an offline command and on run.
func TestNodeFlagSpellings(t *testing.T) {
	seed := seedFile(t)
	render := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, "", append([]string{"render", "-f", seed}, args...)...)
		if code != 0 {
			t.Fatalf("render %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	svcnat := render("--node-name", "node-1", "--node-ip", "192.168.1.100")
	kubeProxy := render("--hostname-override", "node-1", "--bind-address", "192.168.1.100")
	mixed := render("--hostname-override", "node-1", "--node-ip", "192.168.1.100", "--bind-address", "0.0.0.0")
	if svcnat != kubeProxy || svcnat != mixed {
		t.Errorf("the spellings give different rules:\n--node-name/--node-ip:\n%s\n--hostname-override/--bind-address:\n%s", svcnat, kubeProxy)
	}
	if other := render("--node-name", "node-2", "--node-ip", "192.168.1.101"); other == svcnat {
		t.Error("the node flags change nothing in the rules: the comparison proves nothing")
	}

	parse := func(args ...string) *kubeproxy.Settings {
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		r := registerRunFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		s, err := r.complete()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := parse("--node-name", "n1", "--node-ip", "10.0.0.1", "--node-ip", "fd00::1")
	b := parse("--hostname-override", "n1", "--node-ip", "10.0.0.1", "--bind-address", "fd00::1")
	slices.SortFunc(a.NodeIPs, netip.Addr.Compare)
	slices.SortFunc(b.NodeIPs, netip.Addr.Compare)
	if a.NodeName != b.NodeName || !slices.Equal(a.NodeIPs, b.NodeIPs) || b.NodeName != "n1" || len(b.NodeIPs) != 2 {
		t.Errorf("run: --node-name/--node-ip give %q %v, --hostname-override/--bind-address give %q %v",
			a.NodeName, a.NodeIPs, b.NodeName, b.NodeIPs)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		argv0 string
		args  []string
		want  []string
	}{
		{"svcnat", []string{"render", "-f", "x"}, []string{"render", "-f", "x"}},
		{"svcnat", []string{"--hostname-override", "n1"}, []string{"run", "--hostname-override", "n1"}},
		{"svcnat", []string{"-v=2", "--kubeconfig", "k"}, []string{"run", "-v=2", "--kubeconfig", "k"}},
		{"svcnat", []string{"--help"}, []string{"--help"}},
		{"svcnat", []string{"-h"}, []string{"-h"}},
		{"svcnat", []string{"--version"}, []string{"--version"}},
		{"svcnat", nil, nil},
		{"kube-proxy", []string{"--hostname-override", "n1"}, []string{"run", "--hostname-override", "n1"}},
		{"kube-proxy", nil, []string{"run"}},
		{"kube-proxy", []string{"--help"}, []string{"run", "--help"}},
	}
	for _, tc := range tests {
		if got := commandLine(tc.argv0, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("commandLine(%q, %q) = %q, want %q", tc.argv0, tc.args, got, tc.want)
		}
	}
}

// TestKubeProxyInvocation runs the rewritten command lines: flags without
// a command reach run's own flag set, unknown ones are still refused.
func TestKubeProxyInvocation(t *testing.T) {
	code, out, _ := run(t, "", commandLine("kube-proxy", []string{"--help"})...)
	if code != 0 || !strings.Contains(out, "svcnat run [flags]") {
		t.Errorf("kube-proxy --help: exit %d, not run's help:\n%s", code, out)
	}
	code, _, errOut := run(t, "", commandLine("svcnat", []string{"--hostname-override", "n1", "--no-such-flag"})...)
	if code != 2 || !strings.Contains(errOut, "svcnat run: unknown flag: --no-such-flag") {
		t.Errorf("svcnat --hostname-override n1 --no-such-flag: exit %d, stderr %q", code, errOut)
	}
	// A bad value of one of run's flags is a usage error of run, found
	// before anything starts.
	code, _, errOut = run(t, "", commandLine("kube-proxy", []string{"--hostname-override", "n1", "--node-ip", "not-an-ip", "--manifests", t.TempDir()})...)
	if code != 2 || !strings.Contains(errOut, `"not-an-ip" for "--node-ip"`) {
		t.Errorf("kube-proxy --node-ip not-an-ip: exit %d, stderr %q", code, errOut)
	}
}

// TestNodePortRange: offline commands warn about nodePorts outside the
// cluster's range, the API server's default unless told otherwise.
func TestNodePortRange(t *testing.T) {
	svc := `apiVersion: v1
kind: Service
metadata: {name: high, namespace: default}
spec:
  type: NodePort
  clusterIP: 10.96.0.9
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 40000}]
`
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{nil, true},
		{[]string{"--service-node-port-range", "30000-50000"}, false},
		{[]string{"--service-node-port-range", ""}, false},
	} {
		args := append([]string{"render", "-f", "-", "--node-ip", "192.168.1.100"}, tc.args...)
		code, _, errOut := run(t, svc, args...)
		if code != 0 || strings.Contains(errOut, "NodePortOutOfRange") != tc.warn {
			t.Errorf("%q: exit %d, stderr %q; want a NodePortOutOfRange warning: %v", args, code, errOut, tc.warn)
		}
	}
	if code, _, _ := run(t, svc, "render", "-f", "-", "--service-node-port-range", "high"); code != 2 {
		t.Errorf("--service-node-port-range high: exit %d, want 2", code)
	}
}
