package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/svcnat/svcnat/synth"
)

// kube-proxy's own iptables chains (v1.37, pkg/proxy/iptables), per table:
// exactly what its CleanupLeftovers flushes and deletes. Chains of the
// kubelet that share the KUBE- prefix (KUBE-FIREWALL, KUBE-KUBELET-CANARY)
// are not among them and are left alone.
var kubeProxyChains = map[string][]string{
	"nat":    {"KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-PROXY-CANARY"},
	"filter": {"KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL", "KUBE-PROXY-CANARY"},
	"mangle": {"KUBE-PROXY-CANARY"},
}

// kubeProxyServicePrefixes name kube-proxy's per-Service chains in the nat
// table (cluster and local policy, endpoint, firewall, external).
var kubeProxyServicePrefixes = []string{"KUBE-SVC-", "KUBE-SVL-", "KUBE-SEP-", "KUBE-FW-", "KUBE-EXT-"}

// isKubeProxyChain reports whether chain in table belongs to kube-proxy.
func isKubeProxyChain(table, chain string) bool {
	if slices.Contains(kubeProxyChains[table], chain) {
		return true
	}
	if table != "nat" {
		return false
	}
	for _, p := range kubeProxyServicePrefixes {
		if strings.HasPrefix(chain, p) {
			return true
		}
	}
	return false
}

// kubeProxyCleanupScript returns the iptables-restore --noflush input that
// removes kube-proxy's chains from one table, given that table's
// iptables-save output, or nil when the table holds none. Jump rules into
// those chains from any other chain are deleted with their exact saved
// spelling, so nothing else in the table changes.
func kubeProxyCleanupScript(table string, saved []byte) []byte {
	var chains, jumps []string
	for line := range strings.Lines(string(saved)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, ":"):
			name, _, _ := strings.Cut(line[1:], " ")
			if isKubeProxyChain(table, name) {
				chains = append(chains, name)
			}
		case strings.HasPrefix(line, "-A "):
			from, target := ruleChainAndTarget(line)
			if !isKubeProxyChain(table, from) && isKubeProxyChain(table, target) {
				jumps = append(jumps, "-D "+line[len("-A "):])
			}
		}
	}
	if len(chains) == 0 && len(jumps) == 0 {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%s\n", table)
	for _, c := range chains {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c) // flush
	}
	for _, j := range jumps {
		b.WriteString(j + "\n")
	}
	for _, c := range chains {
		fmt.Fprintf(&b, "-X %s\n", c)
	}
	b.WriteString("COMMIT\n")
	return b.Bytes()
}

// ruleChainAndTarget returns the chain of an "-A CHAIN ..." line and the
// target of its -j (or -g), if any.
func ruleChainAndTarget(line string) (chain, target string) {
	f := strings.Fields(line)
	if len(f) > 1 {
		chain = f[1]
	}
	for i := 2; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" || f[i] == "--jump" || f[i] == "--goto" {
			target = f[i+1]
		}
	}
	return chain, target
}

// CleanupKubeProxy removes kube-proxy's iptables rules from the network
// namespace at netnsPath ("" = the current one): its KUBE-* chains in the
// nat, filter and mangle tables and the jumps into them, in both families
// and in both flavours (nft and legacy, where installed), one
// iptables-restore per table. svcnat's own SVCNAT- chains and every other
// rule stay. It is what kube-proxy's --cleanup does for iptables mode, for
// migrating a node from kube-proxy to svcnat.
func CleanupKubeProxy(ctx context.Context, netnsPath string) error {
	r := runner{netns: netnsPath}
	var errs []error
	for _, f := range []flavour{"nft", "legacy"} {
		for _, fam := range families {
			if _, err := os.Stat(f.binary(fam, "save")); err != nil {
				continue // flavour not installed
			}
			errs = append(errs, cleanupKubeProxyFamily(ctx, r, f, fam))
		}
	}
	return errors.Join(errs...)
}

func cleanupKubeProxyFamily(ctx context.Context, r runner, f flavour, fam synth.Family) error {
	for _, table := range []string{"nat", "filter", "mangle"} {
		saved, err := r.exec(ctx, nil, f.binary(fam, "save"), "-t", table)
		if err != nil {
			return fmt.Errorf("kube-proxy cleanup: %w", err)
		}
		script := kubeProxyCleanupScript(table, saved)
		if script == nil {
			continue
		}
		if _, err := r.exec(ctx, bytes.NewReader(script), f.binary(fam, "restore"), "--noflush", "-w", "5"); err != nil {
			return fmt.Errorf("kube-proxy cleanup (%s %s): %w", cmdName(fam), table, err)
		}
	}
	return nil
}
