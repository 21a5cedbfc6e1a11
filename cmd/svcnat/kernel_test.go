package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/klog/v2"

	"github.com/svcnat/svcnat/internal/nslock"
	"github.com/svcnat/svcnat/kubeproxy"
	"github.com/svcnat/svcnat/netns/netnstest"
)

// dualStackYAML adds an IPv6 Service to the seed, so both families have
// Service rules.
const dualStackYAML = seedYAML + `---
apiVersion: v1
kind: Service
metadata: {name: web6, namespace: default}
spec:
  type: NodePort
  ipFamilies: [IPv6]
  clusterIP: fd00:96::80
  selector: {app: web6}
  ports:
  - {name: http, port: 80, targetPort: 8080, nodePort: 30081}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web6-1
  namespace: default
  labels: {kubernetes.io/service-name: web6}
addressType: IPv6
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- {addresses: ["fd00:244::2"], nodeName: node-1}
`

// TestRenderIPFamilyLoads renders one family at a time and loads it with
// the tool that family's output is meant for, inside a throwaway
// namespace: nft -c -f, iptables-restore --test, ip6tables-restore --test.
func TestRenderIPFamilyLoads(t *testing.T) {
	ns := netnstest.Scratch(t, "clifam")
	node := []string{"-f", "-", "--node-name", "node-1", "--node-ip", "192.168.1.100", "--node-ip", "fd00:1::100"}
	tests := []struct {
		backend, family string
		tool            []string
		has, hasNot     []string
	}{
		{"nftables", "ipv4", []string{"nft", "-c", "-f", "-"}, []string{"table ip svcnat", "30080"}, []string{"table ip6", "30081"}},
		{"nftables", "ipv6", []string{"nft", "-c", "-f", "-"}, []string{"table ip6 svcnat", "30081"}, []string{"table ip svcnat", "30080"}},
		{"iptables", "ipv4", []string{"iptables-restore", "--test", "--noflush"}, []string{"*nat", "30080"}, []string{"ip6tables", "30081"}},
		{"iptables", "ipv6", []string{"ip6tables-restore", "--test", "--noflush"}, []string{"*nat", "30081"}, []string{"icmp-port-unreachable", "30080"}},
	}
	for _, tc := range tests {
		t.Run(tc.backend+"-"+tc.family, func(t *testing.T) {
			if _, err := exec.LookPath(tc.tool[0]); err != nil {
				t.Skipf("%s not installed", tc.tool[0])
			}
			code, out, errOut := run(t, dualStackYAML, append([]string{"render", "--backend", tc.backend, "--ip-family", tc.family}, node...)...)
			if code != 0 {
				t.Fatalf("render: exit %d: %s", code, errOut)
			}
			for _, s := range tc.has {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(out, s) {
					t.Errorf("output has %q, of the other family", s)
				}
			}
			cmd := exec.Command("nsenter", append([]string{"--net=" + ns, "--"}, tc.tool...)...)
			cmd.Stdin = strings.NewReader(out)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s\ninput:\n%s", strings.Join(tc.tool, " "), err, msg, out)
			}
		})
	}
}

// TestDiffAndStatusInNamespace programs a scratch namespace with `svcnat
// apply` on both backends and checks diff -o json before and after, and
// what status --netns reads back, then after cleanup.
func TestDiffAndStatusInNamespace(t *testing.T) {
	for _, backendName := range []string{"nftables", "iptables"} {
		t.Run(backendName, func(t *testing.T) {
			ns := netnstest.Scratch(t, "clistat")
			seed := filepath.Join(t.TempDir(), "dual.yaml")
			if err := os.WriteFile(seed, []byte(dualStackYAML), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"-f", seed, "--backend", backendName, "--netns", ns, "--node-name", "node-1", "--node-ip", "192.168.1.100", "--node-ip", "fd00:1::100"}
			before := diffJSON(t, args)
			if backendName == "nftables" {
				// The nft commands are the same on every host; the iptables
				// restore input depends on the host's features.
				checkGolden(t, "diff-nftables-empty-namespace.json", before.raw)
			}
			for i, f := range before.rep.Families {
				if f.Family != []string{"ipv4", "ipv6"}[i] || len(f.Operations) == 0 {
					t.Errorf("diff before apply: family %d is %q with %d operations", i, f.Family, len(f.Operations))
				}
				for _, op := range f.Operations {
					if !validTable(backendName, f.Family, op.Table) {
						t.Errorf("diff: operation %q in table %q of %s", op.Command, op.Table, f.Family)
					}
				}
			}
			if code, out, errOut := run(t, "", append([]string{"apply"}, args...)...); code != 0 {
				t.Fatalf("apply: exit %d: %s %s", code, out, errOut)
			}
			if after := diffJSON(t, args); after.rep.Changes != 0 || len(after.rep.Families) != 2 {
				t.Errorf("diff after apply: %s", after.raw)
			}
			st := statusJSON(t, "--netns", ns, "--backend", backendName)
			if st.Source != "kernel" || st.Backend != backendName || len(st.Families) != 2 {
				t.Fatalf("status: %+v", st)
			}
			for _, f := range st.Families {
				if len(f.Tables) == 0 || f.Chains == nil || *f.Chains == 0 || f.Rules == 0 {
					t.Errorf("status %s: %+v: want tables, chains and rules", f.Family, f)
				}
				if backendName == "nftables" && f.Elements == 0 {
					t.Errorf("status %s: no elements", f.Family)
				}
			}
			code, text, _ := run(t, "", "status", "--netns", ns, "--backend", backendName)
			if code != 0 || !strings.Contains(text, "ipv4: ") || !strings.Contains(text, "rules") {
				t.Errorf("status text: exit %d:\n%s", code, text)
			}
			if code, _, errOut := run(t, "", "cleanup", "--backend", backendName, "--netns", ns); code != 0 {
				t.Fatalf("cleanup: %s", errOut)
			}
			code, text, _ = run(t, "", "status", "--netns", ns, "--backend", backendName)
			if code != 0 || strings.Count(text, "no svcnat rules") != 2 {
				t.Errorf("status after cleanup: exit %d:\n%s", code, text)
			}
		})
	}
}

func validTable(backendName, family, table string) bool {
	if backendName == "iptables" {
		return table == "nat" || table == "filter"
	}
	return table == map[string]string{"ipv4": "ip svcnat", "ipv6": "ip6 svcnat"}[family]
}

type diffResult struct {
	raw string
	rep diffReport
}

func diffJSON(t *testing.T, args []string) diffResult {
	t.Helper()
	code, out, errOut := run(t, "", append(append([]string{"diff"}, args...), "-o", "json")...)
	if code != 0 {
		t.Fatalf("diff -o json: exit %d: %s", code, errOut)
	}
	var r diffResult
	r.raw = out
	dec := json.NewDecoder(bytes.NewReader([]byte(out)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r.rep); err != nil {
		t.Fatalf("diff -o json: %v:\n%s", err, out)
	}
	return r
}

func statusJSON(t *testing.T, args ...string) statusReport {
	t.Helper()
	code, out, errOut := run(t, "", append(append([]string{"status"}, args...), "-o", "json")...)
	if code != 0 {
		t.Fatalf("status -o json: exit %d: %s", code, errOut)
	}
	var st statusReport
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status -o json: %v:\n%s", err, out)
	}
	return st
}

// TestOneAgentPerNamespace: a second agent for the same namespace is
// refused with the holder's pid; after the first stops, one may start.
func TestOneAgentPerNamespace(t *testing.T) {
	ns := netnstest.Scratch(t, "lock")
	nslock.Dir = t.TempDir()
	logger := klog.Background()
	unlock, err := lockNamespace(ns, logger)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockNamespace(ns, logger); !errors.Is(err, nslock.ErrHeld) || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("second agent: %v, want ErrHeld naming pid %d", err, os.Getpid())
	}
	unlock()
	again, err := lockNamespace(ns, logger)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	again()
}

// TestRunRemovesTheOtherBackendsRules: like kube-proxy, run removes
// svcnat's rules of the backend it does not use (a node switched modes).
// The removal runs beside the agent's start, so it is awaited here.
func TestRunRemovesTheOtherBackendsRules(t *testing.T) {
	ns := netnstest.Scratch(t, "other")
	seed := filepath.Join(t.TempDir(), "seed.yaml")
	if err := os.WriteFile(seed, []byte(seedYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "apply", "-f", seed, "--backend", "iptables", "--netns", ns,
		"--node-name", "node-1", "--node-ip", "192.168.1.100"); code != 0 {
		t.Fatalf("apply: exit %d: %s %s", code, out, errOut)
	}
	if !hasSvcnatIPTables(t, ns) {
		t.Fatal("no svcnat iptables rules after apply")
	}
	s := &kubeproxy.Settings{Mode: "nftables", NetNS: ns, NodeName: "node-1", Manifests: t.TempDir(),
		NodeIPs: []netip.Addr{netip.MustParseAddr("192.168.1.100")}}
	n, err := prepareNode(t.Context(), s, klog.Background())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-n.cleaned:
	case <-time.After(30 * time.Second):
		t.Fatal("the iptables cleanup did not finish within 30 s")
	}
	if hasSvcnatIPTables(t, ns) {
		t.Error("svcnat's iptables rules are still there after run started in nftables mode")
	}
}

// hasSvcnatIPTables reports whether either iptables flavour in namespace
// ns holds a SVCNAT chain.
func hasSvcnatIPTables(t *testing.T, ns string) bool {
	t.Helper()
	for _, save := range []string{"iptables-nft-save", "iptables-legacy-save"} {
		out, err := exec.Command("nsenter", "--net="+ns, save).CombinedOutput()
		if err == nil && strings.Contains(string(out), "SVCNAT") {
			return true
		}
	}
	return false
}
