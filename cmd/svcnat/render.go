package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/synth"
)

func newRenderCmd(e *env) *cobra.Command {
	var m modelFlags
	var b backendFlags
	var family string
	cmd := &cobra.Command{
		Use:   "render -f FILE... [flags]",
		Short: "print the rules for manifest files (nft script or iptables-restore input)",
		Long: `Render prints the rules svcnat would program for the Services in the manifest
files, without touching the kernel: an nft script (--backend nftables, one
table per IP family) or iptables-restore --noflush input (--backend iptables).

With --ip-family the output holds one family only, so it pipes straight into
'nft -f -', 'iptables-restore --noflush' or 'ip6tables-restore --noflush'.
The iptables output lists, as comments, the jump rules from built-in chains
that 'svcnat apply' adds.

Input files are what 'kubectl get svc,endpointslices,nodes -A -o yaml'
prints, or hand-written multi-document YAML or JSON; '-f -' reads stdin.
Warnings about skipped input go to stderr.`,
		Example: `  svcnat render -f examples/my-app-service.yaml --node-ip 192.168.1.100
  svcnat render -f examples/my-app-service.yaml --node-ip 192.168.1.100 --backend iptables --ip-family ipv4
  kubectl get svc,endpointslices,nodes -A -o yaml | svcnat render -f - --node-name node-1`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	m.register(cmd.Flags())
	b.register(cmd.Flags(), false)
	cmd.Flags().StringVar(&family, "ip-family", "", "print only this `FAMILY`'s rules: ipv4 or ipv6 (default: both)")
	fixedValues(cmd, "backend", "nftables", "iptables")
	fixedValues(cmd, "iptables-mode", "auto", "nft", "legacy")
	fixedValues(cmd, "ip-family", "ipv4", "ipv6")
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		keep, err := familyFilter(family)
		if err != nil {
			return err
		}
		render, err := b.renderer()
		if err != nil {
			return err
		}
		_, res, err := m.load(e)
		if err != nil {
			return err
		}
		out, err := render(keep(res.Rulesets()))
		if err != nil {
			return fmt.Errorf("render %s: %w", b.name, err)
		}
		_, err = e.stdout.Write(out)
		return err
	})
	return cmd
}

// familyFilter returns the function that keeps the Rulesets --ip-family
// asks for ("": all).
func familyFilter(name string) (func([]*synth.Ruleset) []*synth.Ruleset, error) {
	var want synth.Family
	switch name {
	case "":
		return func(rs []*synth.Ruleset) []*synth.Ruleset { return rs }, nil
	case "ipv4", "4":
		want = synth.IPv4
	case "ipv6", "6":
		want = synth.IPv6
	default:
		return nil, usagef("--ip-family %q: want ipv4 or ipv6", name)
	}
	return func(rs []*synth.Ruleset) []*synth.Ruleset {
		var out []*synth.Ruleset
		for _, r := range rs {
			if r != nil && r.Family == want {
				out = append(out, r)
			}
		}
		return out
	}, nil
}
