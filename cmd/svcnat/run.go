package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

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
	fs.StringVar(&a.kubeconfig, "kubeconfig", "", "kubeconfig of the API server (default: in-cluster config)")
	fs.StringVar(&a.manifests, "manifests", "", "run without an API server: the YAML/JSON files in this folder are the cluster state")
	fs.DurationVar(&a.minSyncPeriod, "min-sync-period", svcsync.DefaultMinSyncPeriod, "minimum time between two syncs (changes in between are coalesced)")
	fs.DurationVar(&a.syncPeriod, "sync-period", svcsync.DefaultSyncPeriod, "maximum time between two full reconciles (repairs tampering)")
	fs.StringVar(&a.metricsAddr, "metrics-bind-address", svcsync.DefaultMetricsAddr, "address of /metrics (empty: off)")
	fs.StringVar(&a.healthzAddr, "healthz-bind-address", svcsync.DefaultHealthzAddr, "address of /healthz and /livez (empty: off)")
}

func runAgent(ctx context.Context, e *env, args []string) error {
	var m modelFlags
	var b backendFlags
	var a agentFlags
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	m.registerNode(fs, "hostname-override")
	b.register(fs, true)
	a.register(fs)
	addKlogFlags(fs)
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if m.nodeName == "" {
		return usagef("no node name: set --hostname-override or NODE_NAME")
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
	logger.Info("starting svcnat", "version", version, "backend", be.Name(), "source", a.sourceName())
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
	rc.UserAgent = "svcnat/" + version
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
