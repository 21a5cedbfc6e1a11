package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/internal/version"
)

// exitStatusHelp ends every command's help.
const exitStatusHelp = `
Exit status: 0 success, 1 failure, 2 usage error (unknown command or flag,
stray argument, bad value, unreadable input file).
`

// newRoot builds the command tree. Each call builds fresh flag sets, so
// tests can run many command lines in one process.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "svcnat",
		Short: "a Kubernetes Service proxy for Linux nodes (nftables or iptables)",
		Long: `svcnat turns Kubernetes Services and EndpointSlices into netfilter DNAT rules,
with nftables (over netlink) or iptables (iptables-restore). It replaces
kube-proxy on a node (svcnat run) and, offline, prints, applies, traces and
explains the rules for manifest files.

Invoked as kube-proxy, or with flags and no command, svcnat is 'svcnat run'.`,
		Version:       version.Version(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	var prof cpuProfile
	prof.register(root)
	root.PersistentPreRunE = func(*cobra.Command, []string) error { return prof.start() }
	root.PersistentPostRunE = func(*cobra.Command, []string) error { return prof.stop() }
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("svcnat {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetUsageTemplate(root.UsageTemplate() + exitStatusHelp)
	root.AddGroup(
		&cobra.Group{ID: "node", Title: "On a node:"},
		&cobra.Group{ID: "offline", Title: "Offline, from manifest files:"},
	)
	root.AddCommand(
		inGroup("node", newRunCmd(e), newApplyCmd(e), newDiffCmd(e), newCleanupCmd(e), newStatusCmd(e))...,
	)
	root.AddCommand(inGroup("offline", newRenderCmd(e), newTraceCmd(e), newExplainCmd(e))...)
	root.AddCommand(newVersionCmd(e))
	// Cobra adds these when it executes; done here, they are also listed
	// by the usage printed for a command line without a command.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	if c, _, err := root.Find([]string{"help"}); err == nil && c != root {
		show := c.Run
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if found, _, err := root.Find(args); err != nil || found == nil || (found == root && len(args) > 0) {
				return usagef("no command %q (see 'svcnat help')", strings.Join(args, " "))
			}
			show(cmd, args)
			return nil
		}
	}
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Example = "  source <(svcnat completion bash)\n  svcnat completion zsh > \"${fpath[1]}/_svcnat\"\n  svcnat completion fish > ~/.config/fish/completions/svcnat.fish"
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown shell %q: want bash, zsh, fish or powershell", args[0])
			}
			return cmd.Help()
		}
	}
	return root
}

func inGroup(id string, cmds ...*cobra.Command) []*cobra.Command {
	for _, c := range cmds {
		c.GroupID = id
	}
	return cmds
}

// body adapts a command's function: its errors are failures (exit 1)
// unless they are usage errors.
func body(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return runError{err}
		}
		return nil
	}
}

// noArgs rejects stray words: every command but explain takes only flags.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q: %s takes no arguments", args[0], cmd.CommandPath())
	}
	return nil
}

// noFiles completes no words where a command takes no arguments.
func noFiles(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveNoFileComp
}

// fixedValues registers the completion of a flag that takes one of values.
func fixedValues(cmd *cobra.Command, flag string, values ...string) {
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}
