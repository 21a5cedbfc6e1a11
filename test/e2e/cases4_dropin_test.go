//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// kubeadmConfig is what `kubeadm config print init-defaults
// --component-configs KubeProxyConfiguration` prints for v1.37 (the
// kubeproxy package's tests decode the same file).
const kubeadmConfig = "kubeproxy/testdata/kubeadm-v1.37-config.conf"

// kubeadmNode is a lab node set up like a kubeadm node's kube-proxy pod:
// /var/lib/kube-proxy/{config.conf,kubeconfig.conf} from the ConfigMap, the
// service account's token and CA, and the binary under the name kube-proxy.
type kubeadmNode struct {
	dir, config, link string
	host              *netns.Host
	proc              *labtest.Proc
}

// TestKubeadmDropIn starts the svcnat binary exactly as kubeadm v1.37's
// DaemonSet starts kube-proxy (`/usr/local/bin/kube-proxy
// --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)`)
// on node-2, with only the mode changed in kubeadm's configuration, and
// checks what an operator checks after swapping the image: traffic through
// NodePort and ClusterIP, EndpointSlice changes followed within 2 s,
// kube-proxy's metrics on 127.0.0.1:10249 and its /healthz on :10256.
func TestKubeadmDropIn(t *testing.T) {
	for i, mode := range []string{"nftables", "iptables"} {
		t.Run(mode, func(t *testing.T) {
			n := newKubeadmNode(t, "kubeadm-"+mode, mode)
			n.start(t)
			checkDropIn(t, n, mode, int32(30180+i))
			n.stopAndCleanup(t)
		})
	}
}

// newKubeadmNode lays out a kubeadm node's kube-proxy files for mode under
// a folder of the suite named name.
func newKubeadmNode(t *testing.T, name, mode string) *kubeadmNode {
	t.Helper()
	dir := filepath.Join(env.dir, name)
	lib := filepath.Join(dir, "var/lib/kube-proxy")
	sa := filepath.Join(dir, "var/run/secrets/kubernetes.io/serviceaccount")
	for _, d := range []string{lib, sa, filepath.Join(dir, "usr/local/bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(sa, "token"), env.cluster.Token())
	ca, err := os.ReadFile(env.cluster.ServingCert())
	if err != nil {
		t.Fatalf("API server certificate: %v", err)
	}
	writeFile(t, filepath.Join(sa, "ca.crt"), string(ca))
	writeFile(t, filepath.Join(lib, "kubeconfig.conf"), kubeadmKubeconfig("https://"+env.cluster.APIAddr().String(), sa))
	n := &kubeadmNode{dir: dir, config: filepath.Join(lib, "config.conf"),
		link: filepath.Join(dir, "usr/local/bin/kube-proxy"), host: env.lab.Node2}
	writeFile(t, n.config, kubeadmProxyConfig(t, mode, filepath.Join(lib, "kubeconfig.conf")))
	if err := os.Symlink(env.svcnatBin, n.link); err != nil {
		t.Fatal(err)
	}
	return n
}

// kubeadmKubeconfig is kubeadm's kubeconfig.conf with the paths of the
// lab's service-account mount.
func kubeadmKubeconfig(server, sa string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: %[2]s/ca.crt
    server: %[1]s
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: %[2]s/token
`, server, sa)
}

// kubeadmProxyConfig is kubeadm's config.conf with mode set, the pod
// subnet kubeadm copies from its ClusterConfiguration, and the kubeconfig
// path of the lab.
func kubeadmProxyConfig(t *testing.T, mode, kubeconfig string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.repo, kubeadmConfig))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range []struct{ old, new string }{
		{"mode: \"\"", "mode: " + mode},
		{"clusterCIDR: \"\"", "clusterCIDR: " + clusterCIDR},
		{"/var/lib/kube-proxy/kubeconfig.conf", kubeconfig},
	} {
		if !strings.Contains(s, r.old) {
			t.Fatalf("%s has no %q", kubeadmConfig, r.old)
		}
		s = strings.Replace(s, r.old, r.new, 1)
	}
	return s
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs the link with kubeadm's arguments in node-2's namespace and
// waits until /healthz answers 200.
func (n *kubeadmNode) start(t *testing.T) {
	t.Helper()
	n.proc = startProc(t, "kube-proxy (svcnat)", n.host, filepath.Join(n.dir, "kube-proxy.log"),
		n.link, "--config="+n.config, "--hostname-override="+node2Name)
	body, err := waitHealthz(t.Context(), n.proc, env.lab.Client, n.host)
	if err != nil {
		t.Fatalf("kube-proxy (svcnat): %v", err)
	}
	if !strings.Contains(body, `"nodeEligible":true`) {
		t.Errorf("/healthz body %s: no \"nodeEligible\":true", body)
	}
}

// checkDropIn creates a NodePort Service backed by pods on node-2 and
// checks the data path and the observable surface.
func checkDropIn(t *testing.T, n *kubeadmNode, mode string, port int32) {
	t.Helper()
	pods := newPods(t, 3, true)
	client := newPod(t, true)
	svc := createService(t, svcSpec{name: "kubeadm-" + mode, typ: corev1.ServiceTypeNodePort, nodePort: port})
	setSlice(t, svc, portA, readyEps(pods[0], pods[1]))
	np := netip.AddrPortFrom(n.host.IPv4(), uint16(port))
	measure(t, "drop-in: create service", time.Now(), env.lab.Client, np, answers)
	seen := serversSeen(t, env.lab.Client, np, 30)
	for _, p := range pods[:2] {
		if seen[p.at(portA)] == 0 {
			t.Errorf("NodePort %v: endpoint %v never reached in 30 dials: %v", np, p.at(portA), seen)
		}
	}
	r := mustAnswer(t, client.host(), svcAddr(t, svc))
	if r.SeenSource.Addr() != client.ip {
		t.Errorf("ClusterIP from a pod on node-2: source %v, want the pod's %v", r.SeenSource, client.ip)
	}

	since := time.Now()
	setSlice(t, svc, portA, readyEps(pods[2]))
	measureWithin(t, "drop-in: endpointslice patch", 2*time.Second, since, env.lab.Client, np, servedBy(pods[2].at(portA)))

	code, body, err := n.host.HTTPGet(ctx(t), "http://127.0.0.1:10249/metrics", 5*time.Second)
	if err != nil || code != http.StatusOK {
		t.Fatalf("metrics: %d %v", code, err)
	}
	// (kubeproxy_network_programming_duration_seconds has samples only for
	// slices with a last-change-trigger-time, which the controller sets and
	// this test's slices do not.)
	for _, name := range []string{"kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family=\"IPv4\"",
		"kubeproxy_sync_proxy_rules_last_timestamp_seconds", "kubeproxy_proxy_healthz_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics has no %s", name)
		}
	}
	code, body, err = n.host.HTTPGet(ctx(t), "http://127.0.0.1:10249/proxyMode", 5*time.Second)
	if err != nil || code != http.StatusOK || strings.TrimSpace(body) != mode {
		t.Errorf("/proxyMode = %d %q %v, want %s", code, body, err, mode)
	}
}

// stopAndCleanup stops the proxy and removes its rules the way an operator
// would with kube-proxy: `kube-proxy --cleanup`.
func (n *kubeadmNode) stopAndCleanup(t *testing.T) {
	t.Helper()
	if err := n.proc.Stop(stopGrace); err != nil {
		t.Errorf("stop: %v", err)
	}
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.host.Command(c, n.link, "--config="+n.config, "--cleanup").CombinedOutput()
	if err != nil {
		t.Errorf("kube-proxy --cleanup: %v\n%s", err, out)
	}
}
