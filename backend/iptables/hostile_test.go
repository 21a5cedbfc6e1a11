package iptables

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"net/netip"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

var hostileNames = []string{
	`quote"d`,
	"new\nline -A INPUT -j ACCEPT",
	`back\slash\" -j ACCEPT`,
	"-A SVCNAT-SERVICES -j DROP",
	"spaces and\ttabs\rCR",
	"COMMIT",
	"#comment",
	strings.Repeat("x", 300),
	"ünïcödé",
}

func hostileRuleset() *synth.Ruleset {
	rs := handRuleset()
	base := *rs.Services[0]
	rs.Services = nil
	for i, name := range hostileNames {
		sp := base
		sp.Name.Namespace, sp.Name.Name, sp.Name.Port = name, name, name
		sp.ID = "HOSTILE" + strings.Repeat("A", 8) + string(rune('A'+i))
		sp.Port = uint16(1000 + i)
		sp.NodePort = uint16(31000 + i)
		rs.Services = append(rs.Services, &sp)
	}
	return rs
}

// checkStructure asserts every line of a rendered script is one of the
// forms the renderer means to write, and every rule stays in an SVCNAT chain.
func checkStructure(t *testing.T, script []byte) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(script))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		ok := strings.HasPrefix(l, "# ") || l == "*nat" || l == "*filter" || l == "COMMIT" ||
			strings.HasPrefix(l, ":"+chainPrefix) || strings.HasPrefix(l, "-A "+chainPrefix)
		if !ok {
			t.Fatalf("line %d escapes the structure: %q", n, l)
		}
		if strings.Count(l, `"`)%2 != 0 {
			t.Fatalf("line %d has unbalanced quotes: %q", n, l)
		}
		for _, c := range l {
			if c < ' ' || c > '~' {
				t.Fatalf("line %d has byte %q: %q", n, c, l)
			}
		}
		if i := strings.Index(l, `--comment "`); i >= 0 {
			text, _, _ := strings.Cut(l[i+len(`--comment "`):], `"`)
			if len(text) > maxComment {
				t.Fatalf("line %d: comment of %d bytes", n, len(text))
			}
		}
	}
}

func TestHostileNamesByHand(t *testing.T) {
	rs := hostileRuleset()
	text, err := Render([]*synth.Ruleset{rs}, goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, text)
	if !strings.Contains(string(text), `quote_d/quote_d:quote_d/tcp`) || !strings.Contains(string(text), `new_line -A INPUT -j ACCEPT`) {
		t.Errorf("sanitized names missing:\n%s", text)
	}
	netns := newNetNS(t)
	r, err := renderRuleset(rs, goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []flavour{"nft", "legacy"} {
		restoreTest(t, netns, f, synth.IPv4, []byte(r.text()))
	}
}

func TestHostileIDRefused(t *testing.T) {
	rs := handRuleset()
	rs.Services[0].ID = "X -j ACCEPT"
	if _, err := Render([]*synth.Ruleset{rs}, goldenOpts); err == nil {
		t.Fatal("a ServicePort ID with spaces was rendered")
	}
}

// TestHostileNamesFromManifest sends hostile names through the manifest
// reader and synth.Build: whatever survives must render safely.
func TestHostileNamesFromManifest(t *testing.T) {
	const doc = `apiVersion: v1
kind: Service
metadata:
  name: "evil\" -j ACCEPT\n-A INPUT -j DROP"
  namespace: "ns\nCOMMIT"
spec:
  clusterIP: 10.96.0.7
  ports:
  - name: "p\"\\ -A"
    port: 80
    protocol: TCP
    nodePort: 30007
  type: NodePort
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: evil-1
  namespace: "ns\nCOMMIT"
  labels:
    kubernetes.io/service-name: "evil\" -j ACCEPT\n-A INPUT -j DROP"
addressType: IPv4
ports:
- name: "p\"\\ -A"
  port: 8080
  protocol: TCP
endpoints:
- addresses: [10.244.1.2]
  conditions: {ready: true}
`
	in, err := manifest.Read("hostile.yaml", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	res := synth.Build(in, synth.Config{NodeIPs: []netip.Addr{mustAddr("192.168.1.100")}})
	text, err := Render(res.Rulesets(), goldenOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkStructure(t, text)
	t.Logf("warnings: %v; %d service ports survived", res.Warnings, len(res.IPv4.Services))
	if n := len(res.IPv4.Services); n > 0 {
		netns := newNetNS(t)
		r, _ := renderRuleset(res.IPv4, goldenOpts)
		restoreTest(t, netns, "nft", synth.IPv4, []byte(r.text()))
	}
}
