//go:build e2e

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svcnat/svcnat/netns"
)

// cluster is etcd plus kube-apiserver, both running inside one namespace of
// the lab (the client's), so that the node reaches the API server over its
// veth and the LAN bridge, as a real node would.
type cluster struct {
	dir     string
	host    *netns.Host
	etcd    *proc
	api     *proc
	apiAddr netip.AddrPort
	token   string

	kubeconfig string // for svcnat, inside the lab
	cfg        *rest.Config
	client     kubernetes.Interface
}

// startCluster starts etcd and kube-apiserver in host, listening on addr,
// and waits until the API server is ready.
func startCluster(ctx context.Context, dir string, host *netns.Host, addr netip.Addr, apiserverBin, etcdBin string) (*cluster, error) {
	c := &cluster{dir: dir, host: host}
	ports, err := freePorts(host, 3)
	if err != nil {
		return nil, err
	}
	c.apiAddr = netip.AddrPortFrom(addr, ports[2])
	if c.token, err = randomToken(); err != nil {
		return nil, err
	}
	c.etcd = newProc("etcd", host, filepath.Join(dir, "etcd.log"), etcdArgs(etcdBin, dir, ports[0], ports[1])...)
	apiArgs, err := c.apiserverArgs(apiserverBin, ports[0])
	if err != nil {
		return nil, err
	}
	c.api = newProc("kube-apiserver", host, filepath.Join(dir, "kube-apiserver.log"), apiArgs...)
	if err := c.etcd.start(); err != nil {
		return c, err
	}
	if err := c.api.start(); err != nil {
		return c, err
	}
	if err := c.connect(); err != nil {
		return c, err
	}
	return c, c.waitReady(ctx, 120*time.Second)
}

func etcdArgs(bin, dir string, clientPort, peerPort uint16) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(int(clientPort))
	peer := "http://127.0.0.1:" + strconv.Itoa(int(peerPort))
	return []string{bin,
		"--name=e2e",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=e2e=" + peer,
		"--logger=zap", "--log-outputs=stderr",
	}
}

// apiserverArgs writes the token file and service-account keys and returns
// the command line. No controller manager runs: the tests write
// EndpointSlices themselves, and no endpoint reconciler touches them.
func (c *cluster) apiserverArgs(bin string, etcdPort uint16) ([]string, error) {
	tokens := filepath.Join(c.dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.token+",e2e-admin,e2e-admin,system:masters\n"), 0o600); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	pub, key, err := writeServiceAccountKeys(c.dir)
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(c.dir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("cert dir: %w", err)
	}
	return []string{bin,
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(int(etcdPort)),
		"--bind-address=" + c.apiAddr.Addr().String(),
		"--advertise-address=" + c.apiAddr.Addr().String(),
		"--secure-port=" + strconv.Itoa(int(c.apiAddr.Port())),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + tokens,
		"--authorization-mode=AlwaysAllow",
		"--service-account-key-file=" + pub,
		"--service-account-signing-key-file=" + key,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-node-port-range=30000-32767",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	}, nil
}

// writeServiceAccountKeys writes a fresh ECDSA P-256 key pair.
func writeServiceAccountKeys(dir string) (pubPath, keyPath string, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	keyPath, pubPath = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	if err := os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", "", fmt.Errorf("service account key: %w", err)
	}
	return pubPath, keyPath, nil
}

func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// freePorts asks host's kernel for n free loopback TCP ports.
func freePorts(host *netns.Host, n int) ([]uint16, error) {
	var ports []uint16
	err := host.Do(func() error {
		var ls []net.Listener
		defer func() {
			for _, l := range ls {
				l.Close()
			}
		}()
		for range n {
			l, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				return err
			}
			ls = append(ls, l)
			ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("free ports in %s: %w", host, err)
	}
	return ports, nil
}

// connect writes the kubeconfig for the node and builds the test's client,
// whose sockets are opened inside the API server's namespace (the test
// process itself stays in the root namespace, which has no route to the lab).
func (c *cluster) connect() error {
	server := "https://" + c.apiAddr.String()
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: e2e-admin
  user:
    token: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: e2e-admin
current-context: e2e
`, server, c.token)
	if err := os.WriteFile(c.kubeconfig, []byte(kc), 0o600); err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	c.cfg = &rest.Config{
		Host:            server,
		BearerToken:     c.token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		Timeout:         10 * time.Second,
		QPS:             100, Burst: 200,
		Dial: c.host.DialContext,
	}
	cs, err := kubernetes.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	c.client = cs
	return nil
}

// waitReady polls /readyz until it answers "ok", the API server exits, or
// the timeout ends; then waits for what the tests rely on: the default
// namespace (created by a post-start controller).
func (c *cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if err := c.api.exited(); err != nil {
			return err
		}
		if err := c.etcd.exited(); err != nil {
			return err
		}
		last = c.ready(ctx)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %v: %w (log %s)", timeout, last, c.api.logPath)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (c *cluster) ready(ctx context.Context) error {
	body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("/readyz: %w: %s", err, body)
	}
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("namespace default: %w", err)
	}
	return nil
}

// restartAPIServer stops kube-apiserver, waits for outage, and starts it again.
func (c *cluster) stopAPIServer() error { return c.api.stop(15 * time.Second) }

func (c *cluster) startAPIServer(ctx context.Context) error {
	if err := c.api.start(); err != nil {
		return err
	}
	return c.waitReady(ctx, 120*time.Second)
}

// stop stops the API server, then etcd.
func (c *cluster) stop() error {
	var errs []error
	if c.api != nil {
		errs = append(errs, c.api.stop(15*time.Second))
	}
	if c.etcd != nil {
		errs = append(errs, c.etcd.stop(15*time.Second))
	}
	return joinErrs(errs)
}
