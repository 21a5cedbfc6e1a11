package main

import (
	"strings"
	"testing"

	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
)

// TestApplyTwiceSendsNothing programs a lab node with `svcnat apply`, then
// checks that a second apply and a diff see no change and cleanup removes
// everything, on both backends.
func TestApplyTwiceSendsNothing(t *testing.T) {
	for _, backendName := range []string{"nftables", "iptables"} {
		t.Run(backendName, func(t *testing.T) {
			t.Parallel()
			lab := netnstest.NewLab(t)
			seed := seedFile(t)
			args := []string{"-f", seed, "--backend", backendName, "--netns", lab.Node.Path(),
				"--node-name", "node-1", "--node-ip", "192.168.1.100"}
			steps := []struct {
				cmd  string
				want string
			}{
				{"apply", "applied"},
				{"apply", "no changes"},
				{"diff", "no changes"},
			}
			for _, s := range steps {
				code, out, errOut := run(t, "", append([]string{s.cmd}, args...)...)
				if code != 0 || !strings.Contains(out, s.want) {
					t.Fatalf("svcnat %s: exit %d, stdout %q (want %q), stderr %q", s.cmd, code, out, s.want, errOut)
				}
			}
			code, out, errOut := run(t, "", "cleanup", "--backend", backendName, "--netns", lab.Node.Path())
			if code != 0 {
				t.Fatalf("cleanup: exit %d: %s %s", code, out, errOut)
			}
			assertNoSvcnatRules(t, lab, backendName)
		})
	}
}

func assertNoSvcnatRules(t *testing.T, lab *netns.Lab, backendName string) {
	t.Helper()
	argv := []string{"nft", "list", "tables"}
	if backendName == "iptables" {
		argv = []string{"iptables-save"}
	}
	out, err := lab.Node.Exec(t.Context(), argv...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(out), "svcnat") {
		t.Errorf("svcnat rules left after cleanup:\n%s", out)
	}
}
