package iptables

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/synth"
)

// survivors are the chains and rules of the fixture that are not
// kube-proxy's: the kubelet's, the operator's and svcnat's.
var survivors = []string{
	":KUBE-IPTABLES-HINT", ":KUBE-KUBELET-CANARY", ":KUBE-FIREWALL", ":OPERATOR-OWN", ":SVCNAT-SERVICES",
	"-A INPUT -j KUBE-FIREWALL", "-A OUTPUT -j KUBE-FIREWALL", "-A OPERATOR-OWN -j ACCEPT",
	"-A INPUT -p tcp -m tcp --dport 2222 -j OPERATOR-OWN",
	`-A PREROUTING -m comment --comment svcnat -j SVCNAT-SERVICES`,
	"-A POSTROUTING -s 10.9.0.0/16 -j MASQUERADE",
	"-A SVCNAT-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j RETURN",
}

func TestKubeProxyCleanupScript(t *testing.T) {
	saved := []byte(`*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-ABC - [0:0]
:KUBE-KUBELET-CANARY - [0:0]
:SVCNAT-SERVICES - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A PREROUTING -j SVCNAT-SERVICES
-A KUBE-SERVICES -d 10.96.0.1/32 -j KUBE-SVC-ABC
COMMIT
`)
	want := `*nat
:KUBE-SERVICES - [0:0]
:KUBE-SVC-ABC - [0:0]
-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-X KUBE-SERVICES
-X KUBE-SVC-ABC
COMMIT
`
	if got := string(kubeProxyCleanupScript("nat", saved)); got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
	if got := kubeProxyCleanupScript("filter", []byte("*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n")); got != nil {
		t.Errorf("kubelet's chain only: want no script, got\n%s", got)
	}
}

// TestCleanupKubeProxy loads what kube-proxy and the kubelet leave in a
// node's tables into a scratch namespace, in each flavour, and checks that
// exactly kube-proxy's chains and jumps are gone.
func TestCleanupKubeProxy(t *testing.T) {
	fixture, err := os.ReadFile("testdata/kube-proxy-v1.37.rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []flavour{"nft", "legacy"} {
		t.Run(string(f), func(t *testing.T) {
			ns := newNetNS(t)
			restore := exec.Command("nsenter", "--net="+ns, "--", f.binary(synth.IPv4, "restore"), "--noflush")
			restore.Stdin = bytes.NewReader(fixture)
			if out, err := restore.CombinedOutput(); err != nil {
				t.Fatalf("%s-restore of the fixture: %v: %s", f, err, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := CleanupKubeProxy(ctx, ns); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("nsenter", "--net="+ns, "--", f.binary(synth.IPv4, "save")).Output()
			if err != nil {
				t.Fatal(err)
			}
			saved := unquoteComments(string(out))
			for _, name := range []string{"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ",
				"KUBE-PROXY-CANARY", "KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-FORWARD", "KUBE-PROXY-FIREWALL",
				"KUBE-EXTERNAL-SERVICES"} {
				if strings.Contains(saved, name) {
					t.Errorf("%s still present after cleanup:\n%s", name, saved)
				}
			}
			for _, s := range survivors {
				if !strings.Contains(saved, s) {
					t.Errorf("%q removed, but it is not kube-proxy's:\n%s", s, saved)
				}
			}
			if err := CleanupKubeProxy(ctx, ns); err != nil {
				t.Errorf("second cleanup (nothing left to do): %v", err)
			}
		})
	}
}

// unquoteComments drops the quotes iptables-save puts around one-word
// comments, so survivors can be written one way.
func unquoteComments(s string) string { return strings.ReplaceAll(s, `"svcnat"`, "svcnat") }
