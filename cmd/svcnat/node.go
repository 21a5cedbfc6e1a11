package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/svcnat/svcnat/agent"
	"github.com/svcnat/svcnat/agent/conntrack"
	"github.com/svcnat/svcnat/agent/kubeclient"
	"github.com/svcnat/svcnat/agent/source"
	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/internal/version"
	"github.com/svcnat/svcnat/kubeproxy"
	"github.com/svcnat/svcnat/synth"
)

// node is what `svcnat run` set up on the node before the agent starts.
type node struct {
	s     *kubeproxy.Settings
	netns string
	cfg   synth.Config
	be    backend.Backend
	src   source.Source
	// events receives the agent's Events; nil without an API server.
	events agent.EventSink
	// cleaned is closed when the other backend's rules are removed.
	cleaned <-chan struct{}
}

// prepareNode does kube-proxy's privileged start-up in the target
// namespace (OOM score, the other backend's leftovers, conntrack sysctls)
// and opens the backend and the source. With --init-only that is all.
// The agent closes the backend when it stops; on an error it is closed
// here.
func prepareNode(ctx context.Context, s *kubeproxy.Settings, logger logr.Logger) (*node, error) {
	n := &node{s: s, netns: netnsPath(s.NetNS)}
	if s.OOMScoreAdj != nil {
		if err := kubeproxy.SetOOMScoreAdj(0, *s.OOMScoreAdj); err != nil {
			logger.V(2).Info("Failed to apply the OOM score", "err", err) // like kube-proxy: not fatal
		}
	}
	var err error
	if n.be, err = openBackend(ctx, s.Mode, s.IPTablesMode, n.netns); err != nil {
		return nil, err
	}
	if err := n.prepare(ctx, logger); err != nil {
		return nil, errors.Join(err, n.be.Close())
	}
	return n, nil
}

// prepare is prepareNode's work once the backend is open.
func (n *node) prepare(ctx context.Context, logger logr.Logger) error {
	s := n.s
	if err := conntrack.Apply(n.netns, conntrackSysctls(s.Conntrack), conntrack.OnlineCPUs(), logger); err != nil {
		return fmt.Errorf("could not set conntrack parameters from the configuration: %w", err)
	}
	if s.InitOnly {
		cleanupOtherBackend(ctx, s.Mode, n.netns, logger)
		return nil
	}
	var err error
	if n.cfg, err = synthConfig(s, n.netns, logger); err != nil {
		return err
	}
	if n.src, n.events, err = openSource(s, logger); err != nil {
		return err
	}
	// The other backend's cleanup runs iptables commands for a few hundred
	// milliseconds; it touches none of the active backend's rules, so it
	// runs while the agent starts instead of delaying a rebooted node's
	// first rules.
	cleaned := make(chan struct{})
	go func() {
		defer close(cleaned)
		cleanupOtherBackend(ctx, s.Mode, n.netns, logger)
	}()
	n.cleaned = cleaned
	return nil
}

// run runs the agent until ctx ends; the rules stay in place after it.
func (n *node) run(ctx context.Context, logger logr.Logger) error {
	if n.cleaned != nil {
		defer func() { <-n.cleaned }() // no half-done cleanup at exit
	}
	s := n.s
	logger.Info("Starting svcnat", "version", version.Version(), "backend", n.be.Name(), "source", sourceName(s))
	minSync := s.MinSyncPeriod
	if minSync <= 0 {
		minSync = time.Nanosecond // like kube-proxy, 0 means no minimum; the library reads 0 as "default"
	}
	a := agent.NewAgent(agent.Config{
		Synth:               n.cfg,
		MinSyncPeriod:       minSync,
		SyncPeriod:          s.SyncPeriod,
		HealthTimeout:       s.HealthTimeout,
		MetricsAddr:         s.MetricsBindAddress,
		HealthzAddr:         s.HealthzBindAddress,
		BindAddressHardFail: s.BindAddressHardFail,
		NetNS:               n.netns,
		Logger:              logger,
		Version:             version.Version(),
		Revision:            version.Revision(),
		ProxyMode:           s.Mode,
		Configz:             s.Config,
		Flagz:               func() map[string]string { return s.Flags },
		EnableProfiling:     s.EnableProfiling,
		EventClient:         n.events,
	}, n.src, n.be)
	collectAtTheLimitUntil(ctx, a.Ready())
	if err := a.Run(ctx); err != nil {
		return err
	}
	logger.Info("Stopping; the rules stay in place (svcnat cleanup removes them)")
	return nil
}

// synthConfig is the node's model configuration from the settings.
func synthConfig(s *kubeproxy.Settings, netns string, logger logr.Logger) (synth.Config, error) {
	cfg := synth.Config{
		NodeName:            s.NodeName,
		PrimaryNodeIPs:      s.NodeIPs,
		ClusterCIDRs:        s.ClusterCIDRs,
		LocalDetect:         synth.LocalDetectMode(s.DetectLocalMode),
		BridgeInterface:     s.BridgeInterface,
		InterfaceNamePrefix: s.InterfaceNamePrefix,
		NodePortAddresses:   s.NodePortAddresses,
		NodePortPrimary:     s.NodePortPrimary,
		ServiceCIDRs:        s.ServiceCIDRs,
		MasqueradeAll:       s.MasqueradeAll,
		ExternalIPAllowList: s.ExternalIPAllow,
	}
	if s.Manifests != "" {
		// No API server validated the files: warn about nodePorts outside
		// the default range, as the API server would refuse them.
		cfg.NodePortRange = synth.DefaultNodePortRange
	}
	if s.Manifests != "" && len(s.NodeIPs) == 0 {
		// No Node object to read addresses from: use the namespace's own.
		ips, err := localAddrs(netns)
		if err != nil {
			return cfg, fmt.Errorf("node addresses: %w (give --node-ip)", err)
		}
		cfg.NodeIPs = ips
		logger.Info("Node addresses from the network namespace", "addresses", ips)
	}
	return cfg, nil
}

func conntrackSysctls(c kubeproxy.Conntrack) conntrack.Sysctls {
	return conntrack.Sysctls{
		MaxPerCore: c.MaxPerCore, Min: c.Min,
		TCPEstablishedTimeout: c.TCPEstablishedTimeout, TCPCloseWaitTimeout: c.TCPCloseWaitTimeout,
		TCPBeLiberal: c.TCPBeLiberal, UDPTimeout: c.UDPTimeout, UDPStreamTimeout: c.UDPStreamTimeout,
	}
}

func sourceName(s *kubeproxy.Settings) string {
	if s.Manifests != "" {
		return "manifests " + s.Manifests
	}
	return "api server"
}

// openSource picks the manifest folder or the API server; with the API
// server it also returns the client that records Events.
// --manifests wins over the configuration's API server settings, so that a
// DaemonSet's own configuration runs in a lab without an API server.
func openSource(s *kubeproxy.Settings, logger logr.Logger) (source.Source, agent.EventSink, error) {
	if s.Manifests != "" {
		if s.Client.Kubeconfig != "" || s.Client.Master != "" {
			logger.Info("--manifests: the API server settings are not used", "kubeconfig", s.Client.Kubeconfig, "master", s.Client.Master)
		}
		return source.NewDir(s.Manifests, 0, nil), nil, nil
	}
	rc, err := restConfig(s.Client)
	if err != nil {
		return nil, nil, usagef("API server config: %v (give --kubeconfig, or --manifests DIR to run without a cluster)", err)
	}
	client, err := kubeclient.New(rc)
	if err != nil {
		return nil, nil, fmt.Errorf("API client: %w", err)
	}
	return source.NewAPIServer(client, s.NodeName), client, nil
}

// restConfig is kube-proxy's client: the kubeconfig (or the in-cluster
// config when neither it nor --master is set), --master overriding its
// server, and clientConnection's rate limits and content types.
func restConfig(c kubeproxy.Client) (*rest.Config, error) {
	var rc *rest.Config
	var err error
	if c.Kubeconfig == "" && c.Master == "" {
		rc, err = rest.InClusterConfig()
	} else {
		rc, err = clientcmd.BuildConfigFromFlags(c.Master, c.Kubeconfig)
	}
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "svcnat/" + version.Version()
	rc.QPS, rc.Burst = c.QPS, int(c.Burst)
	rc.ContentType, rc.AcceptContentTypes = c.ContentType, c.AcceptContentTypes
	return rc, nil
}

// openBackend builds the backend of mode for the namespace at netns.
func openBackend(ctx context.Context, mode, iptablesMode, netns string) (backend.Backend, error) {
	b := backendFlags{name: mode, iptablesMode: iptablesMode, netns: netns}
	return b.open(ctx)
}

// cleanupOtherBackend removes svcnat's rules of the backend not in use,
// as kube-proxy removes its other modes' rules at start, so that switching
// modes leaves no stale rules behind. Failures are logged: a missing
// iptables binary means there is nothing of it to clean.
func cleanupOtherBackend(ctx context.Context, mode, netns string, logger logr.Logger) {
	other := "iptables"
	if mode == "iptables" {
		other = "nftables"
	}
	if err := cleanupBackend(ctx, other, netns); err != nil {
		logger.V(1).Info("Could not remove the other backend's rules", "backend", other, "err", err)
	}
}

// cleanupAll removes svcnat's rules of both backends (--cleanup).
func cleanupAll(ctx context.Context, netns string, logger logr.Logger) error {
	var errs []error
	for _, name := range []string{"nftables", "iptables"} {
		if err := cleanupBackend(ctx, name, netns); err != nil {
			errs = append(errs, err)
			continue
		}
		logger.Info("Removed svcnat's rules", "backend", name)
	}
	return errors.Join(errs...)
}

func cleanupBackend(ctx context.Context, name, netns string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var be backend.Backend
	var err error
	switch name {
	case "nftables":
		be, err = nftables.New(backend.Options{NetNS: netns})
	default:
		be, err = iptables.New(ctx, iptables.Options{Options: backend.Options{NetNS: netns}})
	}
	if err != nil {
		return fmt.Errorf("cleanup %s: %w", name, err)
	}
	defer be.Close()
	if err := be.Cleanup(ctx); err != nil {
		return fmt.Errorf("cleanup %s: %w", name, err)
	}
	return nil
}

// netnsPath turns a namespace name into its bind-mount path.
func netnsPath(name string) string {
	if name == "" || strings.Contains(name, "/") {
		return name
	}
	return filepath.Join("/run/netns", name)
}
