package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func (d *demo) explain(ctx context.Context) error {
	out, err := d.lab.Node.Exec(ctx, d.svcnat, "explain", "default/my-app-service", "-f", d.manifestPath(),
		"--node-name", "node-1", "--node-ip", nodeIP.String(), "--cluster-cidr", "10.244.0.0/16")
	fmt.Print(indent(out))
	return err
}

func (d *demo) showRules(ctx context.Context) error {
	argv := []string{"nft", "list", "table", "ip", "svcnat"}
	if d.backendName == "iptables" {
		argv = []string{"iptables-save", "-t", "nat"}
	}
	out, err := d.lab.Node.Exec(ctx, argv...)
	fmt.Print(indent(out))
	return err
}

func (d *demo) scaleUp(ctx context.Context) error {
	if err := d.addWebPod("web-3", podIPs[2]); err != nil {
		return err
	}
	return d.writeManifest(podIPs)
}

func (d *demo) curlUntilNewPod(ctx context.Context) error {
	start := time.Now()
	dst := netip.AddrPortFrom(nodeIP, 30080)
	out, err := d.waitCurl(ctx, d.lab.Client, dst, func(s string) bool { return strings.Contains(s, podIPs[2].String()) })
	if err != nil {
		return err
	}
	fmt.Printf("   web-3 answered %s after the edit:\n   %s", time.Since(start).Round(time.Millisecond), out)
	return d.curlSeveral(ctx, d.lab.Client, dst, 6)
}

func (d *demo) manifestPath() string { return filepath.Join(d.dir, "my-app-service.yaml") }

// writeManifest writes the seed Service and an EndpointSlice listing pods;
// it writes a temporary file and renames it so the agent never reads half a file.
func (d *demo) writeManifest(pods []netip.Addr) error {
	var b strings.Builder
	b.WriteString(seedService)
	for _, ip := range pods {
		fmt.Fprintf(&b, "- addresses: [%s]\n  nodeName: node-1\n  conditions: {ready: true}\n", ip)
	}
	tmp := d.manifestPath() + ".tmp~"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, d.manifestPath())
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "   " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n   ") + "\n"
}

const seedService = `apiVersion: v1
kind: Service
metadata:
  name: my-app-service
  namespace: default
  labels: {app: my-app}
spec:
  type: NodePort
  selector: {app: my-app}
  clusterIP: 10.96.0.80
  ports:
  - name: http
    port: 80         # Service port inside cluster
    targetPort: 8080 # Container port (where app listens)
    nodePort: 30080  # External access port on each node
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: my-app-service-x7k2p
  namespace: default
  labels: {kubernetes.io/service-name: my-app-service}
addressType: IPv4
ports:
- {name: http, port: 8080, protocol: TCP}
endpoints:
`
