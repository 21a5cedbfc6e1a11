package kubeproxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/kube-proxy/config/v1alpha1"
)

// resolved holds what kube-proxy keeps in its internal configuration type
// rather than in v1alpha1's per-mode sections.
type resolved struct {
	syncPeriod, minSyncPeriod time.Duration
	masqueradeAll             bool
	clusterCIDRs              []string
}

// Complete resolves the parsed flag set fs (on which AddFlags and, for
// `svcnat run`, AddSvcnatFlags registered) into Settings, like kube-proxy
// v1.37's Options.Complete and Validate:
//
//   - with --config, the file is the configuration: of kube-proxy's flags
//     only --hostname-override and the logging flags override it (and
//     --master, --cleanup, --init-only, --write-config-to apply); every
//     other kube-proxy flag given is ignored, with a warning;
//   - without it, the flags are the configuration, and
//     --iptables-[min-]sync-period apply unless the mode is ipvs,
//     --ipvs-[min-]sync-period only when it is;
//   - svcnat's own flags then apply on top of either.
//
// An invalid configuration is one error listing every problem, like
// kube-proxy's validation.
func (o *Options) Complete(fs *pflag.FlagSet) (*Settings, error) {
	var warn []string
	c, raw, err := o.baseConfig(fs, &warn)
	if err != nil {
		return nil, err
	}
	if o.svcnat.backend != "" {
		c.Mode = v1alpha1.ProxyMode(o.svcnat.backend)
	}
	r := o.resolve(fs, c, raw != nil)
	warn = append(warn, platformDefaults(c)...)
	if err := o.overrideHostname(c); err != nil {
		return nil, err
	}
	gates, gateWarnings, err := featureGateFor(c.FeatureGates)
	if err != nil {
		return nil, fmt.Errorf("feature gates: %w", err)
	}
	warn = append(warn, gateWarnings...)
	if fs.Changed("sync-period") {
		r.syncPeriod = o.svcnat.syncPeriod
	}
	if fs.Changed("min-sync-period") {
		r.minSyncPeriod = o.svcnat.minSyncPeriod
	}
	writeBack(c, r)
	if errs := validate(c, r, gates); len(errs) > 0 {
		return nil, errors.New(validationError(errs, string(c.Mode)))
	}
	s, err := o.settings(c, r)
	if err != nil {
		return nil, err
	}
	s.Flags = changedFlags(fs)
	s.Warnings = append(warn, s.Warnings...)
	s.Warnings = append(s.Warnings, ignoredFieldWarnings(c, raw, fs)...)
	return s, nil
}

// baseConfig returns the configuration before svcnat's flags: the file's
// (then raw is the file as decoded, before defaulting), or the flags'.
func (o *Options) baseConfig(fs *pflag.FlagSet, warn *[]string) (c, raw *v1alpha1.KubeProxyConfiguration, err error) {
	if o.configFile == "" && o.writeConfigTo == "" {
		// Like kube-proxy: the deprecated ports count only without both.
		o.config.HealthzBindAddress = addressFromPort(o.config.HealthzBindAddress, o.healthzPort)
		o.config.MetricsBindAddress = addressFromPort(o.config.MetricsBindAddress, o.metricsPort)
	}
	if o.configFile == "" {
		return o.config.DeepCopy(), nil, nil
	}
	raw, err = LoadConfigFile(o.configFile)
	if err != nil {
		return nil, nil, err
	}
	// kube-proxy's decoder defaults the file, then the logging flags win.
	c = raw.DeepCopy()
	SetDefaults(c)
	if err := copyLoggingFlags(fs, &c.Logging); err != nil {
		return nil, nil, err
	}
	*warn = append(*warn, ignoredFlagWarnings(fs)...)
	return c, raw, nil
}

// addressFromPort applies --healthz-port or --metrics-port: 0 turns the
// server off, another port is added to a bare IP.
func addressFromPort(addr string, port int32) string {
	if port == 0 {
		return ""
	}
	return appendPortIfNeeded(addr, port)
}

// resolve reads the values v1alpha1 keeps per mode, like kube-proxy's
// conversion to its internal type (file) or processV1Alpha1Flags (flags).
func (o *Options) resolve(fs *pflag.FlagSet, c *v1alpha1.KubeProxyConfiguration, fromFile bool) resolved {
	var r resolved
	switch c.Mode {
	case "ipvs":
		r.syncPeriod, r.minSyncPeriod = c.IPVS.SyncPeriod.Duration, c.IPVS.MinSyncPeriod.Duration
	case "nftables":
		r.syncPeriod, r.minSyncPeriod = c.NFTables.SyncPeriod.Duration, c.NFTables.MinSyncPeriod.Duration
	default:
		r.syncPeriod, r.minSyncPeriod = c.IPTables.SyncPeriod.Duration, c.IPTables.MinSyncPeriod.Duration
	}
	if c.Mode == "nftables" {
		r.masqueradeAll = c.NFTables.MasqueradeAll
	} else {
		r.masqueradeAll = c.IPTables.MasqueradeAll
	}
	if c.ClusterCIDR != "" {
		r.clusterCIDRs = strings.Split(c.ClusterCIDR, ",")
	}
	if fromFile {
		return r
	}
	// The flags' configuration was converted while its mode was still
	// blank, so its sync periods are the iptables section's.
	r.syncPeriod, r.minSyncPeriod = c.IPTables.SyncPeriod.Duration, c.IPTables.MinSyncPeriod.Duration
	ipvs := c.Mode == "ipvs"
	for _, f := range []struct {
		name string
		ipvs bool
		dst  *time.Duration
		v    time.Duration
	}{
		{"iptables-sync-period", false, &r.syncPeriod, o.iptablesSyncPeriod},
		{"iptables-min-sync-period", false, &r.minSyncPeriod, o.iptablesMinSyncPeriod},
		{"ipvs-sync-period", true, &r.syncPeriod, o.ipvsSyncPeriod},
		{"ipvs-min-sync-period", true, &r.minSyncPeriod, o.ipvsMinSyncPeriod},
	} {
		if fs.Changed(f.name) && f.ipvs == ipvs {
			*f.dst = f.v
		}
	}
	r.masqueradeAll = o.masqueradeAll
	r.clusterCIDRs = nil
	if fs.Changed("cluster-cidr") {
		r.clusterCIDRs = strings.Split(o.clusterCIDRs, ",")
	}
	return r
}

// platformDefaults are kube-proxy's Linux defaults that depend on the mode.
func platformDefaults(c *v1alpha1.KubeProxyConfiguration) (warn []string) {
	if c.Mode == "" {
		c.Mode = "iptables"
		warn = append(warn, "no proxy mode given: using iptables, kube-proxy v1.37's default (kube-proxy's default becomes nftables in 1.40); set mode, --proxy-mode or --backend to choose")
	}
	if c.Mode == "nftables" && len(c.NodePortAddresses) == 0 {
		c.NodePortAddresses = []string{keywordPrimary}
	}
	if c.DetectLocalMode == "" {
		c.DetectLocalMode = "ClusterCIDR"
	}
	return warn
}

// overrideHostname applies --hostname-override and --node-name, which win
// over the file.
func (o *Options) overrideHostname(c *v1alpha1.KubeProxyConfiguration) error {
	name := ""
	for _, f := range []struct{ flag, v string }{{"hostname-override", o.hostnameOverride}, {"node-name", o.svcnat.nodeName}} {
		if f.v == "" {
			continue
		}
		v := lowerTrim(f.v)
		if v == "" {
			return fmt.Errorf("--%s: empty hostname-override is invalid", f.flag)
		}
		if name != "" && v != name {
			return fmt.Errorf("--hostname-override %q and --node-name %q disagree: give one", name, v)
		}
		name = v
	}
	if name != "" {
		c.HostnameOverride = name
	}
	return nil
}

// writeBack stores the resolved values in the mode's section, like
// kube-proxy's conversion for /configz.
func writeBack(c *v1alpha1.KubeProxyConfiguration, r resolved) {
	sync, minSync := &c.IPTables.SyncPeriod, &c.IPTables.MinSyncPeriod
	switch c.Mode {
	case "ipvs":
		sync, minSync = &c.IPVS.SyncPeriod, &c.IPVS.MinSyncPeriod
	case "nftables":
		sync, minSync = &c.NFTables.SyncPeriod, &c.NFTables.MinSyncPeriod
	}
	sync.Duration, minSync.Duration = r.syncPeriod, r.minSyncPeriod
	if c.Mode == "nftables" {
		c.NFTables.MasqueradeAll = r.masqueradeAll
	} else {
		c.IPTables.MasqueradeAll = r.masqueradeAll
	}
	if len(r.clusterCIDRs) > 0 {
		c.ClusterCIDR = strings.Join(r.clusterCIDRs, ",")
	}
}

// settings turns the validated configuration into Settings.
func (o *Options) settings(c *v1alpha1.KubeProxyConfiguration, r resolved) (*Settings, error) {
	s := &Settings{
		Mode:                string(c.Mode),
		IPTablesMode:        o.svcnat.iptablesMode,
		DetectLocalMode:     string(c.DetectLocalMode),
		BridgeInterface:     c.DetectLocal.BridgeInterface,
		InterfaceNamePrefix: c.DetectLocal.InterfaceNamePrefix,
		ServiceCIDRs:        o.svcnat.serviceCIDRs,
		ExternalIPAllow:     o.svcnat.externalIPAllow,
		SyncPeriod:          r.syncPeriod,
		MinSyncPeriod:       r.minSyncPeriod,
		MasqueradeAll:       r.masqueradeAll,
		MasqueradeBit:       *c.IPTables.MasqueradeBit,
		HealthzBindAddress:  c.HealthzBindAddress,
		MetricsBindAddress:  c.MetricsBindAddress,
		BindAddressHardFail: c.BindAddressHardFail,
		EnableProfiling:     c.EnableProfiling,
		OOMScoreAdj:         c.OOMScoreAdj,
		FeatureGates:        c.FeatureGates,
		Logging:             *c.Logging.DeepCopy(),
		Client: Client{
			Kubeconfig:         c.ClientConnection.Kubeconfig,
			Master:             o.master,
			QPS:                c.ClientConnection.QPS,
			Burst:              c.ClientConnection.Burst,
			ContentType:        c.ClientConnection.ContentType,
			AcceptContentTypes: c.ClientConnection.AcceptContentTypes,
		},
		ConfigSyncPeriod: c.ConfigSyncPeriod.Duration,
		ConfigFile:       o.configFile,
		Cleanup:          o.cleanup,
		InitOnly:         o.initOnly,
		WriteConfigTo:    o.writeConfigTo,
		Manifests:        o.svcnat.manifests,
		NetNS:            o.svcnat.netns,
		HealthTimeout:    o.svcnat.healthTimeout,
		Config:           c,
	}
	if o.version != "false" {
		s.Version = o.version
	}
	if c.Mode == "nftables" {
		s.MasqueradeBit = *c.NFTables.MasqueradeBit
	}
	if c.Mode == "ipvs" {
		s.Mode = "nftables"
		s.Warnings = append(s.Warnings, "mode ipvs: ipvs is deprecated upstream (kube-proxy disables it by default in 1.40); svcnat serves it with its nftables backend, and the ipvs-only settings (scheduler, timeouts, strictARP, excludeCIDRs) have no effect")
	}
	if err := checkMasqueradeBit(s); err != nil {
		return nil, err
	}
	if s.HealthTimeout == 0 {
		s.HealthTimeout = 2 * s.SyncPeriod
	}
	s.Conntrack = conntrackOf(c.Conntrack)
	var err error
	if s.NodeName, err = o.nodeName(c.HostnameOverride); err != nil {
		return nil, err
	}
	s.NodeIPs = nodeIPs(c.BindAddress, o.svcnat.nodeIPs)
	s.PrimaryFromNode = len(s.NodeIPs) == 0
	s.ClusterCIDRs, s.Warnings = clusterCIDRs(r.clusterCIDRs, s.Warnings)
	s.NodePortAddresses, s.NodePortPrimary, s.Warnings = nodePortAddresses(c.NodePortAddresses, s.Warnings)
	return s, nil
}

func conntrackOf(c v1alpha1.KubeProxyConntrackConfiguration) Conntrack {
	ct := Conntrack{
		MaxPerCore:       c.MaxPerCore,
		Min:              c.Min,
		TCPBeLiberal:     c.TCPBeLiberal,
		UDPTimeout:       c.UDPTimeout.Duration,
		UDPStreamTimeout: c.UDPStreamTimeout.Duration,
	}
	if c.TCPEstablishedTimeout != nil {
		ct.TCPEstablishedTimeout = &c.TCPEstablishedTimeout.Duration
	}
	if c.TCPCloseWaitTimeout != nil {
		ct.TCPCloseWaitTimeout = &c.TCPCloseWaitTimeout.Duration
	}
	return ct
}

// nodeName is kube-proxy's GetHostname, with svcnat's $NODE_NAME between the
// override and the hostname.
func (o *Options) nodeName(override string) (string, error) {
	if n := lowerTrim(override); n != "" {
		return n, nil
	}
	if n := lowerTrim(o.getenv("NODE_NAME")); n != "" {
		return n, nil
	}
	h, err := o.hostname()
	if err != nil {
		return "", fmt.Errorf("node name: %w (give --hostname-override)", err)
	}
	if n := lowerTrim(h); n != "" {
		return n, nil
	}
	return "", errors.New("node name: empty hostname is invalid (give --hostname-override)")
}

func nodeIPs(bindAddress string, extra []netip.Addr) []netip.Addr {
	var ips []netip.Addr
	if ip := parseIPSloppy(bindAddress); ip != nil && !ip.IsUnspecified() {
		a, _ := netip.AddrFromSlice(ip)
		ips = append(ips, a.Unmap())
	}
	for _, a := range extra {
		if !slices.Contains(ips, a) {
			ips = append(ips, a)
		}
	}
	return ips
}

// clusterCIDRs parses the (already validated in ClusterCIDR mode) cluster
// CIDRs; outside that mode kube-proxy does not check them, so a bad one is
// skipped with a warning.
func clusterCIDRs(cidrs []string, warn []string) ([]netip.Prefix, []string) {
	var out []netip.Prefix
	for _, s := range cidrs {
		p, err := parseCIDRSloppy(s)
		if err != nil {
			warn = append(warn, fmt.Sprintf("clusterCIDR %q is not a CIDR: skipped", s))
			continue
		}
		out = append(out, p)
	}
	return out, warn
}

// nodePortAddresses expands the keywords like kube-proxy.
func nodePortAddresses(list []string, warn []string) ([]netip.Prefix, bool, []string) {
	var out []netip.Prefix
	primary := false
	for _, s := range list {
		switch s {
		case keywordPrimary:
			primary = true
		case keywordAll:
			out = append(out, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
		case keywordLocalhost:
			out = append(out, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
			warn = append(warn, "nodePortAddresses localhost: svcnat does not serve NodePorts on loopback addresses")
		default:
			p, _ := parseCIDRSloppy(s) // validated
			out = append(out, p)
		}
	}
	return out, primary, warn
}

func changedFlags(fs *pflag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.Visit(func(f *pflag.Flag) { m[f.Name] = f.Value.String() })
	return m
}

// appliesWithConfig tells the kube-proxy flags that still count when
// --config is given.
func appliesWithConfig(e Entry) bool {
	return e.Field == "" || e.Name == "hostname-override" || strings.HasPrefix(e.Field, "logging.")
}

// ignoredFlagWarnings names the kube-proxy flags given with --config that
// kube-proxy (and so svcnat) ignores.
func ignoredFlagWarnings(fs *pflag.FlagSet) []string {
	var warn []string
	for _, e := range flagEntries {
		if e.Disposition == Refused || appliesWithConfig(e) || !fs.Changed(e.Name) {
			continue
		}
		warn = append(warn, fmt.Sprintf("--%s is ignored because --config is given, like kube-proxy: set %s in the file instead", e.Name, e.Field))
	}
	return warn
}

// ignoredFieldWarnings gives one line for each Ignored field set to a
// value other than kube-proxy's default.
func ignoredFieldWarnings(c, raw *v1alpha1.KubeProxyConfiguration, fs *pflag.FlagSet) []string {
	defaults := &v1alpha1.KubeProxyConfiguration{}
	SetDefaults(defaults)
	var warn []string
	for _, e := range fieldEntries {
		if e.Disposition != Ignored {
			continue
		}
		if e.Name == "iptables.localhostNodePorts" {
			if localhostNodePortsAsked(c, raw, fs) {
				warn = append(warn, "iptables.localhostNodePorts true: "+e.Note)
			}
			continue
		}
		v, d := configValue(c, e.Name), configValue(defaults, e.Name)
		if !sameValue(v, d) {
			warn = append(warn, fmt.Sprintf("%s %s: %s", e.Name, showValue(v), e.Note))
		}
	}
	return warn
}

// localhostNodePortsAsked: true is kube-proxy's default, so svcnat warns
// only when it is asked for explicitly, in iptables mode (the only mode
// where kube-proxy honours it).
func localhostNodePortsAsked(c, raw *v1alpha1.KubeProxyConfiguration, fs *pflag.FlagSet) bool {
	if c.Mode != "iptables" {
		return false
	}
	if raw != nil {
		return raw.IPTables.LocalhostNodePorts != nil && *raw.IPTables.LocalhostNodePorts
	}
	return fs.Changed("iptables-localhost-nodeports") && *c.IPTables.LocalhostNodePorts
}

// defaultMasqueradeBit is kube-proxy's, and the one svcnat's iptables
// backend uses (0x4000, with 0x8000 for its drop mark).
const defaultMasqueradeBit = 14

// checkMasqueradeBit refuses a masquerade bit the iptables backend cannot
// use, and warns that the nftables backend's mark is private.
func checkMasqueradeBit(s *Settings) error {
	if s.MasqueradeBit == defaultMasqueradeBit {
		return nil
	}
	if s.Mode == "nftables" {
		s.Warnings = append(s.Warnings, fmt.Sprintf("nftables.masqueradeBit %d has no effect: svcnat's nftables table marks packets for SNAT with a private bit (0x40000) that it clears before they leave the table, so no other component sees it", s.MasqueradeBit))
		return nil
	}
	return fmt.Errorf("iptables.masqueradeBit (--iptables-masquerade-bit) %d: svcnat's iptables backend marks packets with bits 14 and 15 (0x4000 for SNAT, 0x8000 for drop); keep the default 14, or use mode nftables, whose mark is private", s.MasqueradeBit)
}
