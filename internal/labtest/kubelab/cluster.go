package kubelab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

const (
	// stopGrace is how long etcd and kube-apiserver get after SIGTERM.
	stopGrace = 15 * time.Second
	// readyPoll spaces the readiness probes.
	readyPoll = 250 * time.Millisecond
	// defaultReadyTimeout bounds a start-up when Options leaves it 0.
	defaultReadyTimeout = 120 * time.Second
	// startLogBytes is how much of each log a failed start quotes.
	startLogBytes = 3000
)

// Options describe a Cluster. Dir, Host, Addr, APIServerBin and EtcdBin
// are required.
type Options struct {
	// Dir holds the logs (etcd.log, kube-apiserver.log), etcd's data, the
	// keys, the token file and the kubeconfig. It must exist.
	Dir string
	// Host is the namespace both processes run in; the test's client opens
	// its sockets there too.
	Host *netns.Host
	// Addr is the API server's address in Host (its port is picked free).
	Addr netip.Addr
	// APIServerBin and EtcdBin are the binaries (labtest.KubeAPIServer,
	// labtest.Etcd find them).
	APIServerBin, EtcdBin string
	// APIServerArgs are extra kube-apiserver flags, "--name=value" or
	// "--name": one named like a default flag replaces it (e.g.
	// --service-cluster-ip-range, --service-node-port-range), others are
	// added (e.g. --max-requests-inflight=800).
	APIServerArgs []string
	// ReadyTimeout bounds each wait for readiness (start, restarts);
	// 0 means 120 s.
	ReadyTimeout time.Duration
}

// Cluster is etcd plus kube-apiserver running in one lab namespace. No
// controller manager runs: tests create Nodes and EndpointSlices
// themselves, and the endpoint reconciler is off.
type Cluster struct {
	opts    Options
	etcd    *labtest.Proc
	api     *labtest.Proc
	apiAddr netip.AddrPort
	token   string

	kubeconfig string
	cfg        *rest.Config
	client     kubernetes.Interface
}

// Start starts etcd and kube-apiserver and waits until the API server is
// ready (bounded by ReadyTimeout and ctx). On error it stops what it
// started, and the error quotes the end of both logs.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = defaultReadyTimeout
	}
	c := &Cluster{opts: o}
	if err := c.start(ctx); err != nil {
		return nil, errors.Join(err, c.logTails(), c.Stop())
	}
	return c, nil
}

func (o Options) check() error {
	switch {
	case o.Dir == "":
		return errors.New("kubelab: Options.Dir is empty")
	case o.Host == nil:
		return errors.New("kubelab: Options.Host is nil")
	case !o.Addr.IsValid():
		return errors.New("kubelab: Options.Addr is not set")
	case o.APIServerBin == "" || o.EtcdBin == "":
		return errors.New("kubelab: Options.APIServerBin and EtcdBin are required")
	}
	return nil
}

func (c *Cluster) start(ctx context.Context) error {
	ports, err := freePorts(c.opts.Host, 3)
	if err != nil {
		return err
	}
	c.apiAddr = netip.AddrPortFrom(c.opts.Addr, ports[2])
	if c.token, err = randomToken(); err != nil {
		return err
	}
	c.etcd = labtest.NewProc("etcd", c.opts.Host, filepath.Join(c.opts.Dir, "etcd.log"),
		etcdArgs(c.opts.EtcdBin, c.opts.Dir, ports[0], ports[1])...)
	apiArgs, err := c.apiserverArgs(ports[0])
	if err != nil {
		return err
	}
	c.api = labtest.NewProc("kube-apiserver", c.opts.Host, filepath.Join(c.opts.Dir, "kube-apiserver.log"), apiArgs...)
	if err := c.etcd.Start(); err != nil {
		return err
	}
	if err := c.api.Start(); err != nil {
		return err
	}
	if err := c.connect(); err != nil {
		return err
	}
	return c.WaitReady(ctx, c.opts.ReadyTimeout)
}

func etcdArgs(bin, dir string, clientPort, peerPort uint16) []string {
	client := "http://127.0.0.1:" + strconv.Itoa(int(clientPort))
	peer := "http://127.0.0.1:" + strconv.Itoa(int(peerPort))
	return []string{bin,
		"--name=lab",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=lab=" + peer,
		"--logger=zap", "--log-outputs=stderr",
	}
}

// apiserverArgs writes the token file and service-account keys and returns
// the command line: the defaults, with Options.APIServerArgs merged in.
func (c *Cluster) apiserverArgs(etcdPort uint16) ([]string, error) {
	dir := c.opts.Dir
	tokens := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(c.token+",lab-admin,lab-admin,system:masters\n"), 0o600); err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	pub, key, err := writeServiceAccountKeys(dir)
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, "certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("cert dir: %w", err)
	}
	flags := []string{
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
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-node-port-range=30000-32767",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=1",
	}
	return append([]string{c.opts.APIServerBin}, mergeFlags(flags, c.opts.APIServerArgs)...), nil
}

// mergeFlags returns defaults with each of extra replacing the default of
// the same name, and the others appended in order.
func mergeFlags(defaults, extra []string) []string {
	out := append([]string(nil), defaults...)
	for _, e := range extra {
		i := indexFlag(out, flagName(e))
		if i < 0 {
			out = append(out, e)
			continue
		}
		out[i] = e
	}
	return out
}

func flagName(flag string) string {
	name, _, _ := strings.Cut(flag, "=")
	return name
}

func indexFlag(flags []string, name string) int {
	for i, f := range flags {
		if flagName(f) == name {
			return i
		}
	}
	return -1
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

// WaitReady polls /readyz until it answers "ok" and the default namespace
// exists (a post-start controller creates it), until etcd or the API
// server exits, or until timeout.
func (c *Cluster) WaitReady(ctx context.Context, timeout time.Duration) error {
	_, err := labtest.Eventually(ctx, timeout, readyPoll, func(ctx context.Context) error {
		for _, p := range []*labtest.Proc{c.api, c.etcd} {
			if err := p.Exited(); err != nil {
				return labtest.Permanent(err)
			}
		}
		return c.ready(ctx)
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not ready: %w (log %s)", err, c.api.LogPath())
	}
	return nil
}

func (c *Cluster) ready(ctx context.Context) error {
	body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("/readyz: %w: %s", err, body)
	}
	if _, err := c.client.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("namespace default: %w", err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM; SIGKILL after 15 s is
// not an error). etcd keeps running.
func (c *Cluster) StopAPIServer() error { return stop(c.api) }

// StartAPIServer starts kube-apiserver again and waits until it is ready.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	if err := c.api.Start(); err != nil {
		return err
	}
	return c.WaitReady(ctx, c.opts.ReadyTimeout)
}

// RestartEtcd stops etcd, leaves it down for `down`, starts it again on
// the same ports and data, and waits until the API server is ready.
func (c *Cluster) RestartEtcd(ctx context.Context, down time.Duration) error {
	if err := stop(c.etcd); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if err := c.etcd.Start(); err != nil {
		return err
	}
	return c.WaitReady(ctx, c.opts.ReadyTimeout)
}

// Stop stops the API server, then etcd. It may be called more than once.
func (c *Cluster) Stop() error {
	var errs []error
	for _, p := range []*labtest.Proc{c.api, c.etcd} {
		if p != nil {
			errs = append(errs, stop(p))
		}
	}
	return errors.Join(errs...)
}

// stop stops p; a control-plane process that needed SIGKILL is stopped
// all the same, which is all a lab asks of it.
func stop(p *labtest.Proc) error {
	if err := p.Stop(stopGrace); err != nil && !errors.Is(err, labtest.ErrKilled) {
		return err
	}
	return nil
}

// logTails quotes the end of both logs, for a failed start.
func (c *Cluster) logTails() error {
	var b strings.Builder
	for _, p := range c.Procs() {
		fmt.Fprintf(&b, "\n===== %s (%s), last lines =====\n%s", p.Name(), p.LogPath(), p.LogTail(0, startLogBytes))
	}
	if b.Len() == 0 {
		return nil
	}
	return errors.New(b.String())
}

// Procs returns etcd and kube-apiserver (those created), to print their
// logs.
func (c *Cluster) Procs() []*labtest.Proc {
	var ps []*labtest.Proc
	for _, p := range []*labtest.Proc{c.etcd, c.api} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// Etcd is the etcd process.
func (c *Cluster) Etcd() *labtest.Proc { return c.etcd }

// APIServer is the kube-apiserver process.
func (c *Cluster) APIServer() *labtest.Proc { return c.api }

// APIAddr is where the API server listens (HTTPS) inside Options.Host.
func (c *Cluster) APIAddr() netip.AddrPort { return c.apiAddr }

// Dir is Options.Dir.
func (c *Cluster) Dir() string { return c.opts.Dir }

// ServingCert is the path of the API server's self-signed serving
// certificate (PEM), which is its own CA: a client may trust it instead of
// skipping verification.
func (c *Cluster) ServingCert() string { return filepath.Join(c.opts.Dir, "certs", "apiserver.crt") }

// Token is the bearer token of a system:masters user.
func (c *Cluster) Token() string { return c.token }

// Kubeconfig is the path of a kubeconfig for processes inside the lab
// (the API server's address, the token, TLS verification off).
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a copy of the test process's client configuration:
// its sockets are opened inside Options.Host.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// Client is a client for the test process (see RESTConfig).
func (c *Cluster) Client() kubernetes.Interface { return c.client }
