package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// demo holds the lab, the pods' web servers and the agent process.
type demo struct {
	svcnat      string
	backendName string
	lab         *netns.Lab
	dir         string // the manifest directory the agent watches
	agent       *labtest.Proc
	servers     []*http.Server
}

var (
	nodeIP    = netip.MustParseAddr("192.168.1.100")
	clusterIP = netip.MustParseAddr("10.96.0.80")
	podIPs    = []netip.Addr{netip.MustParseAddr("10.244.1.2"), netip.MustParseAddr("10.244.1.3"), netip.MustParseAddr("10.244.1.4")}
)

func newDemo(svcnat, backendName string) (*demo, error) {
	abs, err := filepath.Abs(svcnat)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("svcnat binary: %w (run make build)", err)
	}
	lab, err := netns.New("svcnat-demo")
	if err != nil {
		return nil, fmt.Errorf("build the lab: %w", err)
	}
	dir, err := os.MkdirTemp("", "svcnat-demo-manifests-")
	if err != nil {
		lab.Close()
		return nil, err
	}
	return &demo{svcnat: abs, backendName: backendName, lab: lab, dir: dir}, nil
}

func (d *demo) close() {
	if d.agent != nil {
		_ = d.agent.Stop(5 * time.Second) // SIGTERM, then SIGKILL
	}
	for _, s := range d.servers {
		_ = s.Close()
	}
	_ = d.lab.Close()
	_ = os.RemoveAll(d.dir)
}

// startPods creates two pods, each serving HTTP on 8080 from inside its namespace.
func (d *demo) startPods(ctx context.Context) error {
	for i, ip := range podIPs[:2] {
		if err := d.addWebPod(fmt.Sprintf("web-%d", i+1), ip); err != nil {
			return err
		}
	}
	return d.writeManifest(podIPs[:2])
}

func (d *demo) addWebPod(name string, ip netip.Addr) error {
	pod, err := d.lab.AddPod(name, ip)
	if err != nil {
		return err
	}
	var ln net.Listener
	err = pod.Do(func() error {
		var err error
		ln, err = net.Listen("tcp", ":8080")
		return err
	})
	if err != nil {
		return fmt.Errorf("listen in pod %s: %w", name, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from pod %s (%s:8080); you came from %s\n", name, ip, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	d.servers = append(d.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("   pod %s at %s:8080\n", name, ip)
	return nil
}

func (d *demo) startAgent(ctx context.Context) error {
	args := []string{d.svcnat, "run", "--manifests", d.dir, "--backend", d.backendName,
		"--hostname-override", "node-1", "--node-ip", nodeIP.String(),
		"--cluster-cidr", "10.244.0.0/16", "--service-cidr", "10.96.0.0/16",
		"--metrics-bind-address", "127.0.0.1:10249", "--healthz-bind-address", "127.0.0.1:10256"}
	d.agent = labtest.NewProc("svcnat", d.lab.Node, filepath.Join(os.TempDir(), d.lab.Prefix()+"-agent.log"), args...)
	fmt.Printf("   %s (log: %s)\n", strings.Join(args[1:], " "), d.agent.LogPath())
	return d.agent.Start()
}

func (d *demo) curlNodePort(ctx context.Context) error {
	return d.curlSeveral(ctx, d.lab.Client, netip.AddrPortFrom(nodeIP, 30080), 4)
}

func (d *demo) curlClusterIP(ctx context.Context) error {
	return d.curlSeveral(ctx, d.lab.Pod("web-1").Host, netip.AddrPortFrom(clusterIP, 80), 4)
}

// curlSeveral waits (bounded) until the service answers, then curls n times.
func (d *demo) curlSeveral(ctx context.Context, from *netns.Host, dst netip.AddrPort, n int) error {
	if _, err := d.waitCurl(ctx, from, dst, func(string) bool { return true }); err != nil {
		return err
	}
	for range n {
		out, err := curl(ctx, from, dst)
		if err != nil {
			return err
		}
		fmt.Printf("   $ curl http://%s/   (from %s)\n   %s", dst, from.IPv4(), out)
	}
	return nil
}

// waitCurl curls dst from `from` until an answer satisfies ok (bounded:
// 20 s) and returns that answer.
func (d *demo) waitCurl(ctx context.Context, from *netns.Host, dst netip.AddrPort, ok func(string) bool) (string, error) {
	var out string
	_, err := labtest.Eventually(ctx, 20*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		var err error
		out, err = curl(ctx, from, dst)
		if err == nil && !ok(out) {
			err = fmt.Errorf("answer %q is not the one awaited", strings.TrimSpace(out))
		}
		return err
	})
	return out, err
}

func curl(ctx context.Context, from *netns.Host, dst netip.AddrPort) (string, error) {
	return from.Exec(ctx, "curl", "-sS", "--max-time", "2", "http://"+dst.String()+"/")
}
