//go:build image

package image

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns/netnstest"
)

// capsCase programs a scratch namespace with `svcnat apply` from the image,
// as the overlay's container (its mounts, read-only root, capabilities),
// optionally less some capabilities.
type capsCase struct {
	name    string
	overlay string
	without []string // capabilities removed from the overlay's
	flags   []string // backend flags of svcnat apply
	prepare []string // run in the namespace first, with every capability
	list    []string // lists the rules afterwards, from the host
	wantErr string   // "" when apply must succeed
}

var (
	listNFT     = []string{"nft", "list", "table", "ip", "svcnat"}
	listNFTIpt  = []string{"iptables-nft-save", "-t", "nat"}
	listLegacy  = []string{"iptables-legacy-save", "-t", "nat"}
	capsTimeout = 30 * time.Second
)

var capsCases = []capsCase{
	{name: "nftables with the overlay's NET_ADMIN", overlay: "nftables",
		flags: []string{"--backend=nftables"}, list: listNFT},
	{name: "nftables without NET_ADMIN", overlay: "nftables", without: []string{"NET_ADMIN"},
		flags: []string{"--backend=nftables"}, wantErr: "operation not permitted"},
	{name: "iptables-legacy with the overlay's NET_ADMIN and NET_RAW", overlay: "iptables",
		flags: []string{"--backend=iptables", "--iptables-mode=legacy"}, list: listLegacy},
	{name: "iptables-nft with the overlay's capabilities", overlay: "iptables",
		flags: []string{"--backend=iptables", "--iptables-mode=nft"}, list: listNFTIpt},
	{name: "iptables auto with the overlay's capabilities", overlay: "iptables",
		flags: []string{"--backend=iptables"}, list: listNFTIpt},
	// iptables-legacy reads the kernel's tables through a raw socket.
	{name: "iptables-legacy without NET_RAW", overlay: "iptables", without: []string{"NET_RAW"},
		flags: []string{"--backend=iptables", "--iptables-mode=legacy"}, wantErr: "Permission denied"},
	// The default mode asks both flavours which holds rules: on a node
	// without legacy tables NET_ADMIN is enough...
	{name: "iptables auto without NET_RAW on a node without legacy tables", overlay: "iptables", without: []string{"NET_RAW"},
		flags: []string{"--backend=iptables"}, list: listNFTIpt},
	// ... but where legacy rules exist (so svcnat uses legacy, like
	// kube-proxy) reading them needs NET_RAW.
	{name: "iptables auto on a legacy node with the overlay's capabilities", overlay: "iptables",
		prepare: legacyRule, flags: []string{"--backend=iptables"}, list: listLegacy},
	{name: "iptables auto on a legacy node without NET_RAW", overlay: "iptables", without: []string{"NET_RAW"},
		prepare: legacyRule, flags: []string{"--backend=iptables"}, wantErr: "Permission denied"},
}

// legacyRule makes a namespace look like a node whose firewall uses
// iptables-legacy.
var legacyRule = []string{"iptables-legacy", "-t", "filter", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT"}

// TestCapabilities proves each overlay's capabilities are enough for its
// mode, and NET_RAW necessary for iptables.
func TestCapabilities(t *testing.T) {
	needImage(t)
	manifests := manifestFolder(t)
	for _, tc := range capsCases {
		t.Run(tc.name, func(t *testing.T) {
			ns := filepath.Base(netnstest.Scratch(t, "caps"))
			if tc.prepare != nil {
				if out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, tc.prepare...)...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v\n%s", tc.prepare, err, out)
				}
			}
			l := podLaunch(t, render(t, tc.overlay), manifests)
			l.Caps = slices.DeleteFunc(l.Caps, func(c string) bool { return slices.Contains(tc.without, c) })
			l.Argv = append([]string{"/usr/local/bin/svcnat", "apply", "-f", manifestsDir + "/web.yaml",
				"--node-name", nodeName, "--node-ip", nodeIP.String()}, tc.flags...)
			out, err := runIn(t, ns, l)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("with %v: %v\n%s", l.Caps, err, out)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("with %v: succeeded, want a failure with %q\n%s", l.Caps, tc.wantErr, out)
			case tc.wantErr != "" && !strings.Contains(out, tc.wantErr):
				t.Fatalf("with %v: failed without %q: %v\n%s", l.Caps, tc.wantErr, err, out)
			case tc.wantErr != "":
				t.Logf("with %v, as expected: %s", l.Caps, lastLine(out))
				return
			}
			rules, err := exec.Command("ip", append([]string{"netns", "exec", ns}, tc.list...)...).CombinedOutput()
			if err != nil || !strings.Contains(string(rules), clusterIP.String()) {
				t.Fatalf("%s: no rule for %v: %v\n%s", strings.Join(tc.list, " "), clusterIP, err, rules)
			}
		})
	}
}

// runIn runs l to completion in the namespace ns and returns its output.
func runIn(t *testing.T, ns string, l launch) (string, error) {
	t.Helper()
	argv, env, err := l.command()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), capsTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
