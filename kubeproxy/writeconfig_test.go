package kubeproxy

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestWriteConfigRoundTrip: what --write-config-to writes, read back with
// --config, gives the same settings and the same configuration.
func TestWriteConfigRoundTrip(t *testing.T) {
	tests := [][]string{
		{"--proxy-mode", "nftables", "--cluster-cidr", "10.244.0.0/16,fd00::/56", "--nodeport-addresses", "primary,10.0.0.0/8", "--iptables-sync-period", "10s", "--masquerade-all", "-v", "3", "--hostname-override", "Node-9"},
		{"--proxy-mode", "iptables", "--bind-address", "192.168.1.10", "--conntrack-max-per-core", "0", "--feature-gates", "KubeProxyNFTablesLocalhostNodePorts=true", "--kube-api-qps", "30", "--detect-local-mode", "InterfaceNamePrefix", "--pod-interface-name-prefix", "veth"},
		{"--proxy-mode", "ipvs", "--ipvs-sync-period", "45s", "--ipvs-min-sync-period", "2s"},
		{"--config", "testdata/kubeadm-v1.37-nftables.conf"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			first, err := complete(args...)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteConfig(&buf, first); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(buf.String(), "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n") || !strings.Contains(buf.String(), "\nkind: KubeProxyConfiguration\n") {
				t.Errorf("not a KubeProxyConfiguration document:\n%s", buf.String())
			}
			path := filepath.Join(t.TempDir(), "written.yaml")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			second, err := complete("--config", path)
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			opts := []cmp.Option{
				cmpopts.IgnoreFields(Settings{}, "ConfigFile", "Flags", "Warnings"),
				cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
			}
			if diff := cmp.Diff(first, second, opts...); diff != "" {
				t.Errorf("settings differ after the round trip (-written +read):\n%s", diff)
			}
		})
	}
}
