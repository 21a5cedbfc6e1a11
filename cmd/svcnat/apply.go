package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/synth"
)

// kernelFlags are the flags of apply and diff: the model and the backend.
type kernelFlags struct {
	model   modelFlags
	backend backendFlags
}

func (k *kernelFlags) register(cmd *cobra.Command) {
	k.model.register(cmd.Flags())
	k.backend.register(cmd.Flags(), true)
	backendCompletions(cmd)
}

// open builds the model and opens the backend.
func (k *kernelFlags) open(ctx context.Context, e *env) (backend.Backend, synth.Result, error) {
	_, res, err := k.model.load(e)
	if err != nil {
		return nil, res, err
	}
	be, err := k.backend.open(ctx)
	return be, res, err
}

func backendCompletions(cmd *cobra.Command) {
	fixedValues(cmd, "backend", "nftables", "iptables")
	fixedValues(cmd, "iptables-mode", "auto", "nft", "legacy")
}

const netnsHelp = `
--netns names a namespace under /run/netns (as 'ip netns add' creates) or
gives a path such as /proc/PID/ns/net; without it the command works on its
own network namespace. It needs CAP_NET_ADMIN there (root).`

func newApplyCmd(e *env) *cobra.Command {
	var k kernelFlags
	cmd := &cobra.Command{
		Use:   "apply -f FILE... [--netns NAME] [flags]",
		Short: "program the rules for manifest files into a network namespace",
		Long: `Apply programs the rules for the Services in the manifest files, atomically
per table, and prints how many objects it sent. It compares with what the
kernel holds, so a second identical apply sends nothing. Other owners' rules
are left alone; 'svcnat cleanup' removes svcnat's.
` + netnsHelp,
		Example: `  svcnat apply -f examples/my-app-service.yaml --netns lab --node-ip 192.168.1.100
  svcnat apply -f cluster.yaml --backend iptables --iptables-mode legacy --netns /proc/4242/ns/net`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	k.register(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		be, res, err := k.open(cmd.Context(), e)
		if err != nil {
			return err
		}
		defer be.Close()
		st, err := backend.Apply(cmd.Context(), be, res.Rulesets(), nil)
		if err != nil {
			return fmt.Errorf("apply %s: %w", be.Name(), err)
		}
		if st.Changes == 0 {
			fmt.Fprintf(e.stdout, "%s: no changes (the kernel already holds these rules); %d rules, %d elements\n", be.Name(), st.Rules, st.Elements)
			return nil
		}
		fmt.Fprintf(e.stdout, "%s: applied %d changes in %s; %d rules, %d elements\n", be.Name(), st.Changes, st.Duration.Round(time.Microsecond), st.Rules, st.Elements)
		return nil
	})
	return cmd
}

func newDiffCmd(e *env) *cobra.Command {
	var k kernelFlags
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "diff -f FILE... [--netns NAME] [flags]",
		Short: "print what apply would change",
		Long: `Diff reads what the kernel holds and prints what 'svcnat apply' with the same
flags would send: nft commands, or iptables-restore --noflush input per family
and table. It changes nothing. "no changes" means the kernel already holds
these rules.

-o json or -o yaml prints the operations per family (schema: docs/CLI.md);
an empty list means no change, so a CI check can test it.
` + netnsHelp,
		Example: `  svcnat diff -f examples/my-app-service.yaml --netns lab --node-ip 192.168.1.100
  svcnat diff -f cluster.yaml --netns lab -o json | jq '.changes'`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	k.register(cmd)
	out.register(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		if err := out.check(); err != nil {
			return err
		}
		be, res, err := k.open(cmd.Context(), e)
		if err != nil {
			return err
		}
		defer be.Close()
		plan, err := be.Plan(cmd.Context(), res.Rulesets(), nil)
		if err != nil {
			return fmt.Errorf("diff %s: %w", be.Name(), err)
		}
		text := []byte(plan.String())
		rep := parseDiff(be.Name(), text)
		return out.write(e.stdout, rep, func(w io.Writer) error {
			if len(text) == 0 {
				_, err := fmt.Fprintf(w, "%s: no changes\n", be.Name())
				return err
			}
			_, err := w.Write(text)
			return err
		})
	})
	return cmd
}

func newCleanupCmd(e *env) *cobra.Command {
	var b backendFlags
	var kubeProxy bool
	cmd := &cobra.Command{
		Use:   "cleanup [--netns NAME] [--kube-proxy] [flags]",
		Short: "remove svcnat's rules (or kube-proxy's)",
		Long: `Cleanup removes everything svcnat programmed with the chosen backend: the
svcnat tables (nftables), or the SVCNAT- chains and the jump rules into them
(iptables), in both IP families. Other owners' rules are left alone. A
stopped agent leaves its rules in place, so traffic keeps flowing; run
cleanup when svcnat is removed from a node.

With --kube-proxy it removes kube-proxy's rules instead, exactly what
kube-proxy's own --cleanup removes: its "kube-proxy" nftables tables and its
KUBE- iptables chains (nat, filter, mangle) and the jumps into them, in both
families and both iptables flavours. The kubelet's KUBE-FIREWALL and
KUBE-KUBELET-CANARY chains, svcnat's rules and everything else stay. This is
the last step of migrating a node from kube-proxy (deploy/README.md).
` + netnsHelp,
		Example: `  svcnat cleanup --netns lab
  svcnat cleanup --backend iptables
  svcnat cleanup --kube-proxy`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	b.register(cmd.Flags(), true)
	cmd.Flags().BoolVar(&kubeProxy, "kube-proxy", false, "remove kube-proxy's rules (both modes) instead of svcnat's")
	backendCompletions(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		if kubeProxy {
			return cleanupKubeProxy(cmd.Context(), e, b.netnsPath())
		}
		be, err := b.open(cmd.Context())
		if err != nil {
			return err
		}
		defer be.Close()
		if err := be.Cleanup(cmd.Context()); err != nil {
			return fmt.Errorf("cleanup %s: %w", be.Name(), err)
		}
		fmt.Fprintf(e.stdout, "%s: removed svcnat's rules\n", be.Name())
		return nil
	})
	return cmd
}

// cleanupKubeProxy removes kube-proxy's nftables and iptables rules.
func cleanupKubeProxy(ctx context.Context, e *env, netns string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := nftables.CleanupKubeProxy(netns); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "nftables: removed kube-proxy's tables")
	if err := iptables.CleanupKubeProxy(ctx, netns); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "iptables: removed kube-proxy's chains and jumps")
	return nil
}
