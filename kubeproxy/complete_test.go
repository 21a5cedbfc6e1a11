package kubeproxy

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

// wantWarnings checks that the warnings are exactly one per fragment, in
// any order.
func wantWarnings(t *testing.T, got []string, fragments ...string) {
	t.Helper()
	if len(got) != len(fragments) {
		t.Errorf("got %d warnings, want %d:\n%s", len(got), len(fragments), strings.Join(got, "\n"))
		return
	}
	for _, f := range fragments {
		if !slices.ContainsFunc(got, func(w string) bool { return strings.Contains(w, f) }) {
			t.Errorf("no warning contains %q:\n%s", f, strings.Join(got, "\n"))
		}
	}
}

const defaultModeWarning = "no proxy mode given"

// TestKubeadmConfig: the file kubeadm v1.37 writes (every field, zero
// values) gets kube-proxy's defaults.
func TestKubeadmConfig(t *testing.T) {
	dur := func(d time.Duration) *time.Duration { return &d }
	i32 := func(v int32) *int32 { return &v }
	base := Settings{
		Mode: "iptables", IPTablesMode: "auto", NodeName: "node-1.example", PrimaryFromNode: true,
		DetectLocalMode: "ClusterCIDR", SyncPeriod: 30 * time.Second, MinSyncPeriod: time.Second,
		MasqueradeBit: 14,
		Conntrack: Conntrack{MaxPerCore: i32(32768), Min: i32(131072),
			TCPEstablishedTimeout: dur(24 * time.Hour), TCPCloseWaitTimeout: dur(time.Hour)},
		HealthzBindAddress: "0.0.0.0:10256", MetricsBindAddress: "127.0.0.1:10249",
		OOMScoreAdj: i32(-999), FeatureGates: map[string]bool{},
		Client: Client{Kubeconfig: "/var/lib/kube-proxy/kubeconfig.conf", QPS: 5, Burst: 10,
			ContentType: "application/vnd.kubernetes.protobuf"},
		ConfigSyncPeriod: 15 * time.Minute, HealthTimeout: time.Minute,
	}
	tests := []struct {
		file     string
		edit     func(*Settings)
		warnings []string
	}{
		{"kubeadm-v1.37-config.conf", nil, []string{defaultModeWarning}},
		{"kubeadm-v1.37-nftables.conf", func(s *Settings) { s.Mode = "nftables"; s.NodePortPrimary = true }, nil},
		// ipvs.minSyncPeriod has no default in kube-proxy: 0.
		{"kubeadm-v1.37-ipvs.conf", func(s *Settings) { s.Mode = "nftables"; s.MinSyncPeriod = 0 }, []string{"ipvs is deprecated upstream"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := "testdata/" + tt.file
			s, err := complete("--config", path)
			if err != nil {
				t.Fatal(err)
			}
			want := base
			want.ConfigFile = path
			if tt.edit != nil {
				tt.edit(&want)
			}
			if s.Logging.Format != "text" || s.Logging.FlushFrequency.Duration.Duration != 5*time.Second {
				t.Errorf("logging = %+v, want text, flushed every 5s", s.Logging)
			}
			if diff := cmp.Diff(&want, s, cmp.FilterPath(func(p cmp.Path) bool {
				switch p.Last().String() {
				case ".Logging", ".Config", ".Flags", ".Warnings":
					return true
				}
				return false
			}, cmp.Ignore())); diff != "" {
				t.Errorf("Settings (-want +got):\n%s", diff)
			}
			wantWarnings(t, s.Warnings, tt.warnings...)
		})
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"unknown field", "", []string{"conntrack.maxPerCor", "unknown-field.conf", "strictly"}},
		{"wrong apiVersion", "apiVersion: kubeproxy.config.k8s.io/v1beta1\nkind: KubeProxyConfiguration\n", []string{`"kubeproxy.config.k8s.io/v1beta1"`, "want apiVersion kubeproxy.config.k8s.io/v1alpha1"}},
		{"wrong kind", "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration\n", []string{`"KubeletConfiguration"`}},
		{"no kind", "mode: nftables\n", []string{"apiVersion and kind must be set"}},
		{"empty", "", []string{"empty"}},
		{"duplicate", header + "mode: nftables\nmode: iptables\n", []string{"mode"}},
		{"case matters", header + "Mode: nftables\n", []string{`unknown field "Mode"`}},
		{"bad type", header + "conntrack:\n  min: lots\n", []string{"conntrack"}},
		{"invalid value", header + "mode: nftables\nnftables:\n  masqueradeBit: 32\n", []string{"MasqueradeBit", "[0, 31]"}},
		{"kernelspace", header + "mode: kernelspace\n", []string{"kernelspace", "use nftables or iptables"}},
		{"bad mode", header + "mode: userspace\n", []string{`"userspace"`, "must be iptables, ipvs, nftables or blank"}},
		{"bad gate", header + "featureGates:\n  NoSuchGate: true\n", []string{"unrecognized feature gate: NoSuchGate"}},
		{"ipvs gated off", header + "mode: ipvs\nfeatureGates:\n  KubeProxyIPVS: false\n", []string{"must be iptables, nftables or blank"}},
		{"bad cluster CIDR", header + "clusterCIDR: 10.0.0.0/8,10.1.0.0/16\n", []string{"dual-stack pair"}},
		{"bad sync", header + "iptables:\n  syncPeriod: 1s\n  minSyncPeriod: 2s\n", []string{"SyncPeriod"}},
		{"bad oom", header + "oomScoreAdj: -1001\n", []string{"OOMScoreAdj"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "testdata/unknown-field.conf"
			if tt.name != "unknown field" {
				path = writeFile(t, "kube-proxy.conf", tt.content)
			}
			_, err := complete("--config", path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestConfigPrecedence: with --config only --hostname-override, the
// logging flags, --master and svcnat's flags change the result.
func TestConfigPrecedence(t *testing.T) {
	file := header + "mode: ipvs\nhostnameOverride: from-file\nlogging:\n  verbosity: 2\n  vmodule:\n  - filePattern: file\n    verbosity: 3\nnftables:\n  syncPeriod: 40s\n  minSyncPeriod: 2s\n"
	tests := []struct {
		name     string
		args     []string
		check    func(t *testing.T, s *Settings)
		warnings []string
	}{
		{"file alone", nil, func(t *testing.T, s *Settings) {
			if s.NodeName != "from-file" || s.Logging.Verbosity != 2 || s.Mode != "nftables" || s.SyncPeriod != 30*time.Second {
				t.Errorf("got node %q v=%d mode %s sync %v", s.NodeName, s.Logging.Verbosity, s.Mode, s.SyncPeriod)
			}
		}, []string{"ipvs is deprecated"}},
		{"hostname override", []string{"--hostname-override", " Node-A "}, func(t *testing.T, s *Settings) {
			if s.NodeName != "node-a" || s.Config.HostnameOverride != "node-a" {
				t.Errorf("node %q, config %q; want node-a", s.NodeName, s.Config.HostnameOverride)
			}
		}, []string{"ipvs is deprecated"}},
		{"node-name alias", []string{"--node-name", "node-b"}, func(t *testing.T, s *Settings) {
			if s.NodeName != "node-b" {
				t.Errorf("node %q, want node-b", s.NodeName)
			}
		}, []string{"ipvs is deprecated"}},
		{"-v and --vmodule", []string{"-v", "5", "--vmodule", "flag=4"}, func(t *testing.T, s *Settings) {
			if s.Logging.Verbosity != 5 {
				t.Errorf("verbosity %d, want 5", s.Logging.Verbosity)
			}
			if len(s.Logging.VModule) != 2 || s.Logging.VModule[0].FilePattern != "flag" || s.Logging.VModule[1].FilePattern != "file" {
				t.Errorf("vmodule %+v, want the flag's entry, then the file's", s.Logging.VModule)
			}
		}, []string{"ipvs is deprecated"}},
		{"ignored kube-proxy flags", []string{"--proxy-mode", "iptables", "--feature-gates", "AllAlpha=true", "--kube-api-qps", "50", "--healthz-port", "0", "--ipvs-scheduler", "rr"}, func(t *testing.T, s *Settings) {
			if s.Mode != "nftables" || len(s.FeatureGates) != 0 || s.Client.QPS != 5 || s.HealthzBindAddress == "" {
				t.Errorf("a flag changed the file's configuration: mode %s gates %v qps %v healthz %q", s.Mode, s.FeatureGates, s.Client.QPS, s.HealthzBindAddress)
			}
		}, []string{"ipvs is deprecated", "--proxy-mode is ignored", "--feature-gates is ignored", "--kube-api-qps is ignored", "--healthz-port is ignored", "--ipvs-scheduler is ignored"}},
		{"master applies", []string{"--master", "https://10.0.0.1:6443"}, func(t *testing.T, s *Settings) {
			if s.Client.Master != "https://10.0.0.1:6443" {
				t.Errorf("master %q", s.Client.Master)
			}
		}, []string{"ipvs is deprecated"}},
		{"backend wins", []string{"--backend", "nftables"}, func(t *testing.T, s *Settings) {
			if s.Mode != "nftables" || s.SyncPeriod != 40*time.Second || s.MinSyncPeriod != 2*time.Second || !s.NodePortPrimary {
				t.Errorf("mode %s sync %v/%v primary %v; want the nftables section", s.Mode, s.SyncPeriod, s.MinSyncPeriod, s.NodePortPrimary)
			}
		}, nil},
		{"svcnat sync periods", []string{"--sync-period", "1m", "--min-sync-period", "100ms"}, func(t *testing.T, s *Settings) {
			if s.SyncPeriod != time.Minute || s.MinSyncPeriod != 100*time.Millisecond || s.Config.IPVS.SyncPeriod.Duration != time.Minute {
				t.Errorf("sync %v/%v (configz %v)", s.SyncPeriod, s.MinSyncPeriod, s.Config.IPVS.SyncPeriod)
			}
			if s.HealthTimeout != 2*time.Minute {
				t.Errorf("health timeout %v, want 2 x sync period", s.HealthTimeout)
			}
		}, []string{"ipvs is deprecated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "config.conf", file)
			s, err := complete(append([]string{"--config", path}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
			wantWarnings(t, s.Warnings, tt.warnings...)
		})
	}
}

// TestFlags covers every kind of flag without --config.
func TestFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		check    func(t *testing.T, s *Settings)
		warnings []string
	}{
		{"defaults", nil, func(t *testing.T, s *Settings) {
			if s.Mode != "iptables" || s.NodePortPrimary || s.NodePortAddresses != nil || s.SyncPeriod != 30*time.Second || s.MinSyncPeriod != time.Second {
				t.Errorf("%+v", s)
			}
		}, []string{defaultModeWarning}},
		{"nftables keeps iptables sync flags", []string{"--proxy-mode", "nftables", "--iptables-sync-period", "10s", "--iptables-min-sync-period", "0", "--ipvs-sync-period", "20s"}, func(t *testing.T, s *Settings) {
			if s.Mode != "nftables" || s.SyncPeriod != 10*time.Second || s.MinSyncPeriod != 0 || !s.NodePortPrimary {
				t.Errorf("mode %s sync %v/%v primary %v", s.Mode, s.SyncPeriod, s.MinSyncPeriod, s.NodePortPrimary)
			}
			if s.Config.NFTables.SyncPeriod.Duration != 10*time.Second {
				t.Errorf("configz nftables.syncPeriod %v, want 10s", s.Config.NFTables.SyncPeriod)
			}
		}, nil},
		{"ipvs takes ipvs sync flags", []string{"--proxy-mode", "ipvs", "--iptables-sync-period", "10s", "--ipvs-sync-period", "20s"}, func(t *testing.T, s *Settings) {
			if s.Mode != "nftables" || s.SyncPeriod != 20*time.Second || s.MinSyncPeriod != time.Second {
				t.Errorf("mode %s sync %v/%v", s.Mode, s.SyncPeriod, s.MinSyncPeriod)
			}
		}, []string{"ipvs is deprecated"}},
		{"word separators", []string{"--proxy_mode", "nftables"}, func(t *testing.T, s *Settings) {
			if s.Mode != "nftables" {
				t.Errorf("mode %s", s.Mode)
			}
		}, nil},
		{"dual-stack cluster CIDR", []string{"--cluster-cidr", "10.244.0.0/16,fd00:10:244::/56", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !cmp.Equal(s.ClusterCIDRs, prefixes("10.244.0.0/16", "fd00:10:244::/56"), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) || s.Config.ClusterCIDR != "10.244.0.0/16,fd00:10:244::/56" {
				t.Errorf("cluster CIDRs %v (configz %q)", s.ClusterCIDRs, s.Config.ClusterCIDR)
			}
		}, nil},
		{"nodeport addresses", []string{"--nodeport-addresses", "primary,10.0.0.0/8", "--nodeport-addresses", "fd00::/64", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !s.NodePortPrimary || !slices.Equal(s.NodePortAddresses, prefixes("10.0.0.0/8", "fd00::/64")) {
				t.Errorf("primary %v addresses %v", s.NodePortPrimary, s.NodePortAddresses)
			}
		}, nil},
		{"nodeport all", []string{"--nodeport-addresses", "all", "--proxy-mode", "nftables"}, func(t *testing.T, s *Settings) {
			if s.NodePortPrimary || !slices.Equal(s.NodePortAddresses, prefixes("0.0.0.0/0", "::/0")) {
				t.Errorf("primary %v addresses %v", s.NodePortPrimary, s.NodePortAddresses)
			}
		}, nil},
		{"nodeport localhost", []string{"--nodeport-addresses", "localhost", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !slices.Equal(s.NodePortAddresses, prefixes("127.0.0.0/8", "::1/128")) {
				t.Errorf("addresses %v", s.NodePortAddresses)
			}
		}, []string{"does not serve NodePorts on loopback"}},
		{"bind address", []string{"--bind-address", "192.168.1.10", "--node-ip", "fd00::10,192.168.1.10", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !slices.Equal(s.NodeIPs, addrs("192.168.1.10", "fd00::10")) || s.PrimaryFromNode {
				t.Errorf("node IPs %v, primary from node %v", s.NodeIPs, s.PrimaryFromNode)
			}
		}, nil},
		{"unspecified bind address", []string{"--bind-address", "::", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if len(s.NodeIPs) != 0 || !s.PrimaryFromNode {
				t.Errorf("node IPs %v, primary from node %v", s.NodeIPs, s.PrimaryFromNode)
			}
		}, nil},
		{"deprecated healthz port 0", []string{"--healthz-port", "0", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.HealthzBindAddress != "" {
				t.Errorf("healthz %q, want off", s.HealthzBindAddress)
			}
		}, nil},
		{"deprecated ports on bare IPs", []string{"--healthz-bind-address", "10.0.0.1", "--healthz-port", "9999", "--metrics-bind-address", "::1", "--metrics-port", "9998", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.HealthzBindAddress != "10.0.0.1:9999" || s.MetricsBindAddress != "[::1]:9998" {
				t.Errorf("healthz %q metrics %q", s.HealthzBindAddress, s.MetricsBindAddress)
			}
		}, nil},
		{"deprecated port ignored when the address has one", []string{"--healthz-port", "9999", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.HealthzBindAddress != "0.0.0.0:10256" {
				t.Errorf("healthz %q", s.HealthzBindAddress)
			}
		}, nil},
		{"masquerade in nftables mode", []string{"--masquerade-all", "--proxy-mode", "nftables", "--iptables-masquerade-bit", "5"}, func(t *testing.T, s *Settings) {
			if !s.MasqueradeAll || !s.Config.NFTables.MasqueradeAll || s.Config.IPTables.MasqueradeAll || s.MasqueradeBit != 14 {
				t.Errorf("masquerade all %v (nft %v ipt %v) bit %d", s.MasqueradeAll, s.Config.NFTables.MasqueradeAll, s.Config.IPTables.MasqueradeAll, s.MasqueradeBit)
			}
		}, nil},
		{"masquerade bit in ipvs mode (served by nftables)", []string{"--iptables-masquerade-bit", "5", "--proxy-mode", "ipvs"}, func(t *testing.T, s *Settings) {
			if s.MasqueradeBit != 5 || s.Mode != "nftables" {
				t.Errorf("bit %d mode %s", s.MasqueradeBit, s.Mode)
			}
		}, []string{"mode ipvs", "masqueradeBit 5 has no effect"}},
		{"conntrack", []string{"--conntrack-max-per-core", "0", "--conntrack-min", "1", "--conntrack-tcp-timeout-established", "0", "--conntrack-tcp-timeout-close-wait", "30m", "--conntrack-tcp-be-liberal", "--conntrack-udp-timeout", "30s", "--conntrack-udp-timeout-stream", "2m", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			c := s.Conntrack
			if *c.MaxPerCore != 0 || *c.Min != 1 || *c.TCPEstablishedTimeout != 0 || *c.TCPCloseWaitTimeout != 30*time.Minute || !c.TCPBeLiberal || c.UDPTimeout != 30*time.Second || c.UDPStreamTimeout != 2*time.Minute {
				t.Errorf("%+v", c)
			}
		}, nil},
		{"client", []string{"--kubeconfig", "/k", "--master", "https://m", "--kube-api-qps", "20", "--kube-api-burst", "40", "--kube-api-content-type", "application/json", "--config-sync-period", "1m", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			want := Client{Kubeconfig: "/k", Master: "https://m", QPS: 20, Burst: 40, ContentType: "application/json"}
			if s.Client != want || s.ConfigSyncPeriod != time.Minute {
				t.Errorf("%+v, resync %v", s.Client, s.ConfigSyncPeriod)
			}
		}, []string{"configSyncPeriod \"1m0s\": svcnat's informers do not resync"}},
		{"servers", []string{"--profiling", "--bind-address-hard-fail", "--oom-score-adj", "-500", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !s.EnableProfiling || !s.BindAddressHardFail || *s.OOMScoreAdj != -500 {
				t.Errorf("%+v", s)
			}
		}, nil},
		{"feature gates", []string{"--feature-gates", "KubeProxyNFTablesLocalhostNodePorts=true,ContextualLogging=false", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !s.FeatureEnabled("KubeProxyNFTablesLocalhostNodePorts") || s.FeatureEnabled("ContextualLogging") || !s.FeatureEnabled("KubeProxyIPVS") || s.FeatureEnabled("NoSuchGate") {
				t.Errorf("gates %v", s.FeatureGates)
			}
		}, nil},
		{"deprecated gate", []string{"--feature-gates", "KubeProxyIPVS=true", "--proxy-mode", "iptables"}, nil, []string{"feature gates: setting deprecated feature gate"}},
		{"detect local by bridge", []string{"--detect-local-mode", "BridgeInterface", "--pod-bridge-interface", "cbr0", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.DetectLocalMode != "BridgeInterface" || s.BridgeInterface != "cbr0" {
				t.Errorf("%s %s", s.DetectLocalMode, s.BridgeInterface)
			}
		}, nil},
		{"detect local by prefix", []string{"--detect-local-mode", "InterfaceNamePrefix", "--pod-interface-name-prefix", "veth", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.DetectLocalMode != "InterfaceNamePrefix" || s.InterfaceNamePrefix != "veth" {
				t.Errorf("%s %s", s.DetectLocalMode, s.InterfaceNamePrefix)
			}
		}, nil},
		{"ipvs-only flags", []string{"--ipvs-scheduler", "rr", "--ipvs-strict-arp", "--ipvs-exclude-cidrs", "10.0.0.0/8,fd00::/8", "--ipvs-tcp-timeout", "1m", "--ipvs-tcpfin-timeout", "1m", "--ipvs-udp-timeout", "1m", "--proxy-mode", "iptables"}, nil,
			[]string{"ipvs.scheduler \"rr\"", "ipvs.strictARP", "ipvs.excludeCIDRs", "ipvs.tcpTimeout", "ipvs.tcpFinTimeout", "ipvs.udpTimeout"}},
		{"localhost nodeports asked", []string{"--iptables-localhost-nodeports=true", "--proxy-mode", "iptables"}, nil, []string{"iptables.localhostNodePorts true"}},
		{"localhost nodeports refused", []string{"--iptables-localhost-nodeports=false", "--proxy-mode", "iptables"}, nil, nil},
		{"hidden metrics", []string{"--show-hidden-metrics-for-version", "1.36", "--proxy-mode", "iptables"}, nil, []string{"showHiddenMetricsForVersion"}},
		{"svcnat flags", []string{"--backend", "iptables", "--iptables-mode", "legacy", "--service-cidr", "10.96.0.0/12", "--service-cidr", "fd00:96::/108", "--external-ip-allow", "203.0.113.0/24", "--manifests", "/m", "--netns", "node1", "--health-timeout", "5s"}, func(t *testing.T, s *Settings) {
			if s.Mode != "iptables" || s.IPTablesMode != "legacy" || !slices.Equal(s.ServiceCIDRs, prefixes("10.96.0.0/12", "fd00:96::/108")) ||
				!slices.Equal(s.ExternalIPAllow, prefixes("203.0.113.0/24")) || s.Manifests != "/m" || s.NetNS != "node1" || s.HealthTimeout != 5*time.Second {
				t.Errorf("%+v", s)
			}
		}, nil},
		{"one-shot flags", []string{"--cleanup", "--init-only", "--write-config-to", "/tmp/x", "--version", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if !s.Cleanup || !s.InitOnly || s.WriteConfigTo != "/tmp/x" || s.Version != "true" {
				t.Errorf("%+v", s)
			}
		}, nil},
		{"logging", []string{"--logging-format", "json", "-v", "3", "--log-flush-frequency", "1s", "--proxy-mode", "iptables"}, func(t *testing.T, s *Settings) {
			if s.Logging.Format != "json" || s.Logging.Verbosity != 3 || s.Logging.FlushFrequency.Duration.Duration != time.Second {
				t.Errorf("%+v", s.Logging)
			}
		}, nil},
		{"flagz", []string{"--proxy-mode", "iptables", "-v", "2"}, func(t *testing.T, s *Settings) {
			if !cmp.Equal(s.Flags, map[string]string{"proxy-mode": "iptables", "v": "2"}) {
				t.Errorf("flags %v", s.Flags)
			}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := complete(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
			wantWarnings(t, s.Warnings, tt.warnings...)
		})
	}
}

// TestBadFlags: every bad value is an error naming the flag or the field.
func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--bind-address", "10.0.0"}, "bind-address"},
		{[]string{"--healthz-bind-address", "10.0.0.1:http"}, "healthz-bind-address"},
		{[]string{"--metrics-bind-address", "host:10249"}, "metrics-bind-address"},
		{[]string{"--iptables-sync-period", "often"}, "iptables-sync-period"},
		{[]string{"--kube-api-burst", "x"}, "kube-api-burst"},
		{[]string{"--feature-gates", "KubeProxyIPVS"}, "feature-gates"},
		{[]string{"--node-ip", "node1"}, "node-ip"},
		{[]string{"--node-ip", "0.0.0.0"}, "node-ip"},
		{[]string{"--service-cidr", "10.96.0.0"}, "service-cidr"},
		{[]string{"--external-ip-allow", "any"}, "external-ip-allow"},
		{[]string{"--backend", "ipvs"}, "backend"},
		{[]string{"--iptables-mode", "xtables"}, "iptables-mode"},
		{[]string{"--windows-service"}, "unknown flag: --windows-service"},
		{[]string{"--no-such-flag"}, "unknown flag"},
		// Validation, after parsing: errors name the field.
		{[]string{"--proxy-mode", "kernelspace"}, "kernelspace is kube-proxy's Windows mode and svcnat runs on Linux: use nftables or iptables (mode, --proxy-mode)"},
		{[]string{"--detect-local-mode", "PodCIDR"}, "--detect-local-mode"},
		{[]string{"--proxy-mode", "iptables", "--iptables-masquerade-bit", "5"}, "iptables.masqueradeBit (--iptables-masquerade-bit) 5: svcnat's iptables backend marks packets with bits 14 and 15"},
		{[]string{"--detect-local-mode", "BridgeInterface"}, "--pod-bridge-interface"},
		{[]string{"--cluster-cidr", "10.0.0.0/8,10.1.0.0/16"}, "dual-stack pair of CIDRs (e.g. [10.100.0.0/16, fde4:8dba:82e1::/48] (clusterCIDR, --cluster-cidr)"},
		{[]string{"--cluster-cidr", "10.0.0.0/33"}, "ClusterCIDRs[0]: Invalid value: \"10.0.0.0/33\""},
		{[]string{"--nodeport-addresses", "primary,eth0"}, "NodePortAddresses[1]: Invalid value: \"eth0\": must be a valid CIDR or one of the keywords 'primary', 'localhost', 'all' (nodePortAddresses, --nodeport-addresses)"},
		{[]string{"--nodeport-addresses", "all,all"}, "Duplicate value"},
		{[]string{"--iptables-masquerade-bit", "32"}, "must be within the range [0, 31] (iptables.masqueradeBit, --iptables-masquerade-bit)"},
		{[]string{"--oom-score-adj", "1001"}, "(oomScoreAdj, --oom-score-adj)"},
		{[]string{"--conntrack-min", "-1"}, "(conntrack.min, --conntrack-min)"},
		{[]string{"--conntrack-udp-timeout", "-1s"}, "(conntrack.udpTimeout, --conntrack-udp-timeout)"},
		{[]string{"--config-sync-period", "0"}, "(configSyncPeriod, --config-sync-period)"},
		{[]string{"--iptables-sync-period", "0"}, "(iptables.syncPeriod, --iptables-sync-period, --sync-period)"},
		{[]string{"--sync-period", "5s", "--min-sync-period", "10s"}, "must be greater than or equal to KubeProxyConfiguration.MinSyncPeriod (iptables.syncPeriod, --iptables-sync-period, --sync-period)"},
		{[]string{"--kube-api-burst", "-1"}, "(clientConnection.burst, --kube-api-burst)"},
		{[]string{"--show-hidden-metrics-for-version", "1.30"}, "1.36"},
		{[]string{"--feature-gates", "NoSuchGate=true"}, "unrecognized feature gate: NoSuchGate"},
		{[]string{"--feature-gates", "KubeProxyIPVS=false", "--proxy-mode", "ipvs"}, "ProxyMode"},
		{[]string{"--logging-format", "xml"}, "logging.format"},
		{[]string{"--log-text-split-stream"}, "LoggingAlphaOptions"},
		{[]string{"--hostname-override", "   "}, "empty hostname-override"},
		{[]string{"--hostname-override", "a", "--node-name", "b"}, "disagree"},
		// kube-proxy turns --metrics-port 0 into an empty address, which its
		// validation refuses: svcnat does the same.
		{[]string{"--metrics-port", "0"}, "must be IP:port (metricsBindAddress, --metrics-bind-address, --metrics-port)"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := complete(tt.args...)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestNodeName(t *testing.T) {
	tests := []struct {
		env, host, want string
	}{
		{"", "Node-1", "node-1"},
		{" Node-2 ", "node-1", "node-2"},
	}
	for _, tt := range tests {
		o := NewOptions()
		o.getenv = func(k string) string {
			if k == "NODE_NAME" {
				return tt.env
			}
			return ""
		}
		o.hostname = func() (string, error) { return tt.host, nil }
		got, err := o.nodeName("")
		if err != nil || got != tt.want {
			t.Errorf("env %q host %q: %q, %v; want %q", tt.env, tt.host, got, err, tt.want)
		}
	}
}

// TestValidationPaths: every hint names a real field of the file.
func TestValidationPaths(t *testing.T) {
	paths := ConfigPaths()
	for upstreamPath, p := range validationPaths {
		if !slices.Contains(paths, p) {
			t.Errorf("%s maps to %s, which is not a field", upstreamPath, p)
		}
	}
}
