//go:build image

package image

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
)

// The lab Service: ClusterIP 10.96.0.10:80 and NodePort 30080 -> :8080 of
// two pods on node-1.
var (
	clusterIP = netip.MustParseAddr("10.96.0.10")
	nodeIP    = netip.MustParseAddr("192.168.1.100")
	pods      = []netip.Addr{netip.MustParseAddr("10.244.1.11"), netip.MustParseAddr("10.244.1.12")}
)

const (
	echoPort = 8080
	nodePort = 30080
	// trafficLimit bounds the agent's start-up to traffic flowing.
	trafficLimit = 30 * time.Second
)

// webManifest is the Service and its EndpointSlice.
func webManifest() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n")
	fmt.Fprintf(&b, "spec:\n  type: NodePort\n  clusterIP: %s\n", clusterIP)
	fmt.Fprintf(&b, "  ports: [{name: http, protocol: TCP, port: 80, targetPort: %d, nodePort: %d}]\n", echoPort, nodePort)
	b.WriteString("---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n")
	b.WriteString("metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}\n")
	fmt.Fprintf(&b, "addressType: IPv4\nports: [{name: http, port: %d, protocol: TCP}]\nendpoints:\n", echoPort)
	for _, ip := range pods {
		fmt.Fprintf(&b, "- {addresses: [%s], nodeName: %s, conditions: {ready: true}}\n", ip, nodeName)
	}
	return b.String()
}

// manifestFolder writes webManifest into a new folder.
func manifestFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(webManifest()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDaemonSetInLab runs the image's entrypoint as each overlay's
// DaemonSet would, in a lab node, and sends traffic through it.
func TestDaemonSetInLab(t *testing.T) {
	needImage(t)
	for _, overlay := range []string{"nftables", "iptables"} {
		t.Run(overlay, func(t *testing.T) {
			o := render(t, overlay)
			lab := netnstest.NewLab(t)
			for i, ip := range pods {
				pod, err := lab.AddPod(fmt.Sprintf("web%d", i), ip)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := pod.Serve(netns.TCP, echoPort); err != nil {
					t.Fatal(err)
				}
			}
			l := podLaunch(t, o, manifestFolder(t))
			l.Argv = append(l.Argv, "--manifests="+manifestsDir)
			startContainer(t, lab.Node, l)
			ctx, cancel := context.WithTimeout(t.Context(), trafficLimit)
			defer cancel()
			for _, dst := range []netip.AddrPort{netip.AddrPortFrom(nodeIP, nodePort), netip.AddrPortFrom(clusterIP, 80)} {
				if err := reachesPods(ctx, lab.Client, dst); err != nil {
					t.Fatalf("%v: %v", dst, err)
				}
			}
			c := o.Container()
			for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
				url := fmt.Sprintf("http://%s:%s%s", probe.HTTPGet.Host, probe.HTTPGet.Port.String(), probe.HTTPGet.Path)
				if code, body, err := lab.Node.HTTPGet(ctx, url, 2*time.Second); err != nil || code != 200 {
					t.Errorf("probe %s: %d %v %s", url, code, err, body)
				}
			}
		})
	}
}

// reachesPods dials dst until both pods have answered, or ctx ends.
func reachesPods(ctx context.Context, client *netns.Host, dst netip.AddrPort) error {
	seen := map[netip.Addr]bool{}
	var last error
	for len(seen) < len(pods) {
		r, err := client.Dial(ctx, netns.TCP, dst, time.Second)
		if err == nil {
			seen[r.Server.Addr()] = true
		} else {
			last = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("answered by %v, not by every pod: %w (last error: %v)", seen, ctx.Err(), last)
			case <-time.After(200 * time.Millisecond):
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("answered by %v, not by every pod: %w", seen, ctx.Err())
		}
	}
	return nil
}

// startContainer starts l in host's network namespace; the test's cleanup
// stops it by pid (SIGTERM, then SIGKILL, which fails the test) and prints
// its log on failure.
func startContainer(t *testing.T, host *netns.Host, l launch) {
	t.Helper()
	argv, env, err := l.command()
	if err != nil {
		t.Fatal(err)
	}
	p := labtest.NewProc("container "+strings.Join(l.Argv, " "), host, filepath.Join(t.TempDir(), "container.log"), argv...)
	p.Env = env
	p.StartFor(t, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if err := p.Exited(); err != nil {
		t.Fatalf("the container exited at once: %v\n%s", err, p.LogTail(0, 16000))
	}
}
