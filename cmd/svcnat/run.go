package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/svcnat/svcnat/internal/version"
	svcsync "github.com/svcnat/svcnat/sync"
	"github.com/svcnat/svcnat/sync/source"
)

// agentFlags are `svcnat run`'s own flags, named like kube-proxy's.
type agentFlags struct {
	kubeconfig    string
	manifests     string
	minSyncPeriod time.Duration
	syncPeriod    time.Duration
	metricsAddr   string
	healthzAddr   string
}

func (a *agentFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&a.kubeconfig, "kubeconfig", "", "kubeconfig `FILE` of the API server (default: in-cluster config)")
	fs.StringVar(&a.manifests, "manifests", "", "run without an API server: the YAML/JSON files in this `DIR` are the cluster state")
	fs.DurationVar(&a.minSyncPeriod, "min-sync-period", svcsync.DefaultMinSyncPeriod, "minimum time between two syncs (changes in between are coalesced)")
	fs.DurationVar(&a.syncPeriod, "sync-period", svcsync.DefaultSyncPeriod, "maximum time between two full reconciles (repairs tampering)")
	fs.StringVar(&a.metricsAddr, "metrics-bind-address", svcsync.DefaultMetricsAddr, "`HOST:PORT` of /metrics and /svcnat/status (empty: off)")
	fs.StringVar(&a.healthzAddr, "healthz-bind-address", svcsync.DefaultHealthzAddr, "`HOST:PORT` of /healthz and /livez (empty: off)")
}

// runSettings is everything `svcnat run` is told on its command line,
// parsed. registerRunFlags is the only place that knows the flags, so
// swapping the flag set (kube-proxy's complete one, a --config file) only
// changes how a runSettings is filled.
type runSettings struct {
	node    modelFlags
	backend backendFlags
	agent   agentFlags
}

// registerRunFlags registers run's flags on fs and returns the settings
// they fill when fs is parsed.
func registerRunFlags(fs *pflag.FlagSet) *runSettings {
	s := &runSettings{}
	s.node.registerNode(fs)
	s.backend.register(fs, true)
	s.agent.register(fs)
	addKlogFlags(fs)
	return s
}

func newRunCmd(*env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "run the node agent: keep netfilter equal to the cluster's Services",
		Long: `Run is the node agent, a drop-in for kube-proxy. It watches Services,
EndpointSlices, this Node and ServiceCIDRs through the API server (--kubeconfig,
or the in-cluster config), or a folder of manifests (--manifests, no API
server), and keeps the kernel equal to them: changes are coalesced for at most
--min-sync-period and applied incrementally in one transaction, and a full
reconcile every --sync-period repairs tampering.

It serves Prometheus metrics and /svcnat/status on --metrics-bind-address,
/healthz and /livez on --healthz-bind-address, and the health-check node ports
of externalTrafficPolicy: Local Services. SIGTERM leaves the rules in place,
so traffic flows across restarts; 'svcnat cleanup' removes them.

Flags are named like kube-proxy's. svcnat invoked as kube-proxy, or given flags
and no command, is 'svcnat run'.`,
		Example: `  svcnat run --kubeconfig /etc/kubernetes/svcnat.conf --cluster-cidr 10.244.0.0/16 --service-cidr 10.96.0.0/12
  svcnat run --manifests /etc/svcnat/cluster/ --node-ip 192.168.1.100
  svcnat --hostname-override node-1 --kubeconfig /var/lib/kube-proxy/kubeconfig   # as kube-proxy`,
		Args:              noArgs,
		ValidArgsFunction: noFiles,
	}
	s := registerRunFlags(cmd.Flags())
	backendCompletions(cmd)
	cmd.RunE = body(func(cmd *cobra.Command, _ []string) error {
		return runAgent(cmd.Context(), s)
	})
	return cmd
}

// runAgent runs the agent until ctx ends.
func runAgent(ctx context.Context, s *runSettings) error {
	m, b, a := &s.node, &s.backend, &s.agent
	if m.nodeName == "" {
		return usagef("no node name: set --hostname-override (or --node-name) or NODE_NAME")
	}
	cfg, err := m.config()
	if err != nil {
		return err
	}
	logger := klog.Background().WithValues("node", m.nodeName)
	if len(cfg.NodeIPs) == 0 && a.manifests != "" {
		// No Node object to read addresses from: use the namespace's own.
		if cfg.NodeIPs, err = localAddrs(b.netnsPath()); err != nil {
			return fmt.Errorf("node addresses: %w (give --node-ip)", err)
		}
		logger.Info("node addresses from the network namespace", "addresses", cfg.NodeIPs)
	}
	src, err := a.source(m.nodeName)
	if err != nil {
		return err
	}
	be, err := b.open(ctx)
	if err != nil {
		return err
	}
	logger.Info("starting svcnat", "version", version.Version(), "backend", be.Name(), "source", a.sourceName())
	minSync := a.minSyncPeriod
	if minSync <= 0 {
		minSync = time.Nanosecond // like kube-proxy, 0 means no minimum; the library reads 0 as "default"
	}
	agent := svcsync.NewAgent(svcsync.Config{
		Synth:         cfg,
		MinSyncPeriod: minSync,
		SyncPeriod:    a.syncPeriod,
		MetricsAddr:   a.metricsAddr,
		HealthzAddr:   a.healthzAddr,
		NetNS:         b.netnsPath(),
		Logger:        logger,
	}, src, be)
	if err := agent.Run(ctx); err != nil {
		return err
	}
	logger.Info("stopping; the rules stay in place (svcnat cleanup removes them)")
	return nil
}

func (a *agentFlags) sourceName() string {
	if a.manifests != "" {
		return "manifests " + a.manifests
	}
	return "api server"
}

// source picks the manifest folder or the API server.
func (a *agentFlags) source(nodeName string) (source.Source, error) {
	if a.manifests != "" {
		if a.kubeconfig != "" {
			return nil, usagef("--manifests and --kubeconfig exclude each other")
		}
		return source.NewDir(a.manifests, 0, nil), nil
	}
	var rc *rest.Config
	var err error
	if a.kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", a.kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, usagef("API server config: %v (give --kubeconfig, or --manifests DIR to run without a cluster)", err)
	}
	rc.UserAgent = "svcnat/" + version.Version()
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	return source.NewAPIServer(client, nodeName), nil
}

// addKlogFlags exposes klog's -v as --v / -v.
func addKlogFlags(fs *pflag.FlagSet) {
	gofs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gofs)
	if v := gofs.Lookup("v"); v != nil {
		pf := pflag.PFlagFromGoFlag(v)
		pf.Shorthand = "v"
		fs.AddFlag(pf)
	}
}
