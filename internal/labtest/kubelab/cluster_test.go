package kubelab

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

func TestMergeFlags(t *testing.T) {
	got := mergeFlags([]string{"--a=1", "--b=2", "--c"}, []string{"--b=3", "--d=4", "--c=x"})
	want := []string{"--a=1", "--b=3", "--c=x", "--d=4"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOptionsChecked(t *testing.T) {
	if _, err := Start(t.Context(), Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "Host") {
		t.Errorf("Start without Host: %v", err)
	}
}

// TestCluster starts a real control plane in a lab and goes through what
// the fault tests do: an API server outage and an etcd restart. It skips
// without root or without the binaries (KUBE_APISERVER, ETCD, or
// tools/kubernetes/build.sh).
func TestCluster(t *testing.T) {
	if err := netns.Supported(); err != nil {
		t.Skip(err)
	}
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	apiserver, err := labtest.KubeAPIServer(root)
	if err != nil {
		t.Skip(err)
	}
	etcd, err := labtest.Etcd(root)
	if err != nil {
		t.Skip(err)
	}
	lab, err := netns.New("svcnat-kubelab")
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{
		Dir: t.TempDir(), Host: lab.Client, Addr: lab.Client.IPv4(),
		APIServerBin: apiserver, EtcdBin: etcd,
		APIServerArgs: []string{"--service-node-port-range=30000-30010", "--max-requests-inflight=300"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for _, p := range c.Procs() {
				t.Logf("%s:\n%s", p.Name(), p.LogTail(0, 4000))
			}
		}
	}()
	checkAccess(t, c, lab)
	if log := c.APIServer().LogTail(0, 1<<20); !strings.Contains(log, " --max-requests-inflight=300") || strings.Contains(log, "30000-32767") {
		t.Errorf("the extra flags were not merged into the command line:\n%s", log[:min(len(log), 2000)])
	}
	checkNodePortRange(ctx, t, c)
	createNamespace(ctx, t, c, "before-outage")

	if err := c.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client().CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("the API answered while stopped")
	}
	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	createNamespace(ctx, t, c, "after-outage")

	if err := c.RestartEtcd(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"before-outage", "after-outage"} {
		if _, err := c.Client().CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("after the etcd restart: %v", err)
		}
	}
	createNamespace(ctx, t, c, "after-etcd-restart")
}

// checkAccess: the kubeconfig names the API server and its token, and a
// process inside the lab reaches /readyz with the token.
func checkAccess(t *testing.T, c *Cluster, lab *netns.Lab) {
	t.Helper()
	kc, err := os.ReadFile(c.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(kc), "server: https://"+c.APIAddr().String()) || !strings.Contains(string(kc), c.Token()) {
		t.Errorf("kubeconfig:\n%s", kc)
	}
	if cfg := c.RESTConfig(); cfg.Host != "https://"+c.APIAddr().String() || cfg.BearerToken != c.Token() {
		t.Errorf("rest config %s", cfg.Host)
	}
	if _, err := os.Stat(c.ServingCert()); err != nil {
		t.Errorf("serving certificate: %v", err)
	}
	if c.APIServer().Pid() == 0 || c.Etcd().Pid() == 0 {
		t.Error("no pids")
	}
	out, err := lab.Node.Exec(t.Context(), "curl", "-sSk", "--max-time", "5",
		"-H", "Authorization: Bearer "+c.Token(), "https://"+c.APIAddr().String()+"/readyz")
	if err != nil || strings.TrimSpace(out) != "ok" {
		t.Errorf("node -> /readyz: %q %v", out, err)
	}
}

// checkNodePortRange: the extra flag replaced the default range.
func checkNodePortRange(ctx context.Context, t *testing.T, c *Cluster) {
	t.Helper()
	svc := func(name string, port int32) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort,
				Ports: []corev1.ServicePort{{Port: 80, NodePort: port}}},
		}
	}
	services := c.Client().CoreV1().Services("default")
	if _, err := services.Create(ctx, svc("inside", 30005), metav1.CreateOptions{}); err != nil {
		t.Errorf("nodePort 30005 in 30000-30010: %v", err)
	}
	if _, err := services.Create(ctx, svc("outside", 30500), metav1.CreateOptions{}); err == nil {
		t.Error("nodePort 30500 accepted outside 30000-30010")
	}
}

func createNamespace(ctx context.Context, t *testing.T, c *Cluster, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Client().CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}
