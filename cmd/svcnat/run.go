package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/svcnat/svcnat/internal/nslock"
	"github.com/svcnat/svcnat/kubeproxy"
)

// runSettings is `svcnat run`'s command line: kube-proxy's flags and
// configuration file (package kubeproxy) plus svcnat's own flags.
// registerRunFlags is the only place that knows the flags.
type runSettings struct {
	opts *kubeproxy.Options
	fs   *pflag.FlagSet
}

// registerRunFlags registers run's flags on fs and returns the settings
// they fill when fs is parsed.
func registerRunFlags(fs *pflag.FlagSet) *runSettings {
	o := kubeproxy.NewOptions()
	o.AddFlags(fs)
	o.AddSvcnatFlags(fs)
	return &runSettings{opts: o, fs: fs}
}

// complete resolves the file and the flags with kube-proxy's precedence;
// a bad file or value is a usage error.
func (r *runSettings) complete() (*kubeproxy.Settings, error) {
	s, err := r.opts.Complete(r.fs)
	if err != nil {
		return nil, usageError{err}
	}
	return s, nil
}

func newRunCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "run the node agent: keep netfilter equal to the cluster's Services",
		Long: `Run is the node agent, a drop-in for kube-proxy. It watches Services,
EndpointSlices, this Node and ServiceCIDRs through the API server (--kubeconfig,
or the in-cluster config), or a folder of manifests (--manifests, no API
server), and keeps the kernel equal to them: changes are coalesced for at most
--min-sync-period and applied incrementally in one transaction, and a full
reconcile every --sync-period repairs tampering.

It takes kube-proxy v1.37's configuration file (--config, a
KubeProxyConfiguration) and every kube-proxy flag, with kube-proxy's defaults
and precedence: with --config, only --hostname-override and the logging flags
override the file. svcnat's own flags (--backend, --node-ip, --manifests,
--netns, --external-ip-allow, ...) apply on top. When the --config file changes
svcnat exits, like kube-proxy, so that its pod restarts with the new file.
docs/KUBE-PROXY.md lists what svcnat does with each field and flag.

It serves Prometheus metrics and /svcnat/status on --metrics-bind-address,
/healthz and /livez on --healthz-bind-address, and the health-check node ports
of externalTrafficPolicy: Local Services. SIGTERM leaves the rules in place,
so traffic flows across restarts; 'svcnat cleanup' (or --cleanup) removes them.

svcnat invoked as kube-proxy (a link of that name), or given flags and no
command, is 'svcnat run'.`,
		Example: `  svcnat run --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)
  svcnat run --kubeconfig /etc/kubernetes/svcnat.conf --cluster-cidr 10.244.0.0/16 --service-cidr 10.96.0.0/12
  svcnat run --manifests /etc/svcnat/cluster/ --node-ip 192.168.1.100
  svcnat --hostname-override node-1 --kubeconfig /var/lib/kube-proxy/kubeconfig   # as kube-proxy
  kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)   # kubeadm's DaemonSet, a link to svcnat`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	s := registerRunFlags(cmd.Flags())
	backendCompletions(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		settings, err := s.complete()
		if err != nil {
			return err
		}
		return runAgent(cmd.Context(), e, settings)
	})
	return cmd
}

// runAgent does what kube-proxy does with the same settings: a one-shot
// action (--version, --write-config-to, --cleanup, --init-only), or the
// agent until ctx ends or the configuration file changes.
func runAgent(ctx context.Context, e *env, s *kubeproxy.Settings) error {
	if err := kubeproxy.ApplyLogging(s); err != nil {
		return usageError{err}
	}
	logger := klog.Background().WithValues("node", s.NodeName)
	for _, w := range s.Warnings {
		logger.Info("Configuration: " + w)
	}
	switch {
	case s.Version != "":
		fmt.Fprintln(e.stdout, versionLine(s.Version == "raw"))
		return nil
	case s.WriteConfigTo != "":
		return writeConfigFile(s)
	case s.Cleanup:
		return cleanupAll(ctx, netnsPath(s.NetNS), logger)
	}
	if s.NodeName == "" {
		return usagef("no node name: set --hostname-override (or --node-name) or NODE_NAME")
	}
	unlock, err := lockNamespace(netnsPath(s.NetNS), logger)
	if err != nil {
		return err
	}
	defer unlock()
	if limit, isDefault := applyMemoryLimit(logger); isDefault {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		go followMemoryLimit(ctx, logger, limit)
	}
	p, err := prepareNode(ctx, s, logger)
	if err != nil {
		return err
	}
	if s.InitOnly {
		return p.be.Close()
	}
	return runUntilConfigChanges(ctx, s, func(ctx context.Context) error { return p.run(ctx, logger) })
}

// runUntilConfigChanges runs fn until ctx ends, or until the --config file
// changes: then, like kube-proxy, it stops with an error so that the pod
// restarts with the new file (a ConfigMap update swaps its symlink).
func runUntilConfigChanges(ctx context.Context, s *kubeproxy.Settings, fn func(context.Context) error) error {
	if s.ConfigFile == "" {
		return fn(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := kubeproxy.WatchConfigFile(ctx, s.ConfigFile)
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case err := <-done:
		return err
	case err, ok := <-changed:
		if !ok { // the watch ended with ctx: a stop, not a change
			return <-done
		}
		cancel()
		<-done
		return fmt.Errorf("configuration file: %w; exiting so that the new one is read at start", err)
	}
}

func writeConfigFile(s *kubeproxy.Settings) error {
	f, err := os.Create(s.WriteConfigTo)
	if err != nil {
		return fmt.Errorf("--write-config-to: %w", err)
	}
	if err := kubeproxy.WriteConfig(f, s); err != nil {
		f.Close()
		return fmt.Errorf("--write-config-to: %w", err)
	}
	return f.Close()
}

// lockNamespace makes this agent the only one programming the namespace:
// a second one fails at once with the holder's pid. When the lock folder
// cannot be written (a read-only /run without the DaemonSet's /run/svcnat
// volume) the agent runs unlocked, with a warning.
func lockNamespace(netns string, logger klog.Logger) (unlock func(), err error) {
	release, err := nslock.Acquire(netns)
	switch {
	case err == nil:
		return release, nil
	case errors.Is(err, nslock.ErrHeld):
		return nil, err
	}
	logger.Info("Warning: running without the one-agent-per-namespace lock", "err", err)
	return func() {}, nil
}
