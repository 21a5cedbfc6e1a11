package agent

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// service is one single-port IPv4 Service with its EndpointSlice.
type service struct {
	name       string
	typ        string // ClusterIP (default), NodePort or LoadBalancer
	clusterIP  netip.Addr
	proto      string // TCP (default) or UDP
	port       int
	targetPort int
	nodePort   int // 0: none
	local      bool
	hcNodePort int // healthCheckNodePort; needs local
	endpoints  []endpoint
}

// endpoint is a ready endpoint on a node.
type endpoint struct {
	ip   netip.Addr
	node string
}

func (s service) yaml() string {
	typ, proto := cmpOr(s.typ, "ClusterIP"), cmpOr(s.proto, "TCP")
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n", s.name)
	fmt.Fprintf(&b, "spec:\n  type: %s\n  clusterIP: %s\n", typ, s.clusterIP)
	if s.local {
		fmt.Fprintf(&b, "  externalTrafficPolicy: Local\n")
	}
	if s.hcNodePort != 0 {
		fmt.Fprintf(&b, "  healthCheckNodePort: %d\n", s.hcNodePort)
	}
	fmt.Fprintf(&b, "  ports:\n  - {name: p, protocol: %s, port: %d, targetPort: %d", proto, s.port, s.targetPort)
	if s.nodePort != 0 {
		fmt.Fprintf(&b, ", nodePort: %d", s.nodePort)
	}
	b.WriteString("}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n")
	fmt.Fprintf(&b, "metadata: {name: %s-x1, namespace: default, labels: {kubernetes.io/service-name: %s}}\n", s.name, s.name)
	fmt.Fprintf(&b, "addressType: IPv4\nports: [{name: p, port: %d, protocol: %s}]\nendpoints:", s.targetPort, proto)
	if len(s.endpoints) == 0 {
		b.WriteString(" []")
	}
	b.WriteString("\n")
	for _, ep := range s.endpoints {
		fmt.Fprintf(&b, "- {addresses: [%s], nodeName: %s, conditions: {ready: true}}\n", ep.ip, ep.node)
	}
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// on returns endpoints for ips on node.
func on(node string, ips ...netip.Addr) []endpoint {
	eps := make([]endpoint, len(ips))
	for i, ip := range ips {
		eps[i] = endpoint{ip: ip, node: node}
	}
	return eps
}

// writeFile replaces dir/name atomically (the agent never reads half a
// file): it writes a dot file, which the agent ignores, and renames it.
// It returns the time of the rename.
func writeFile(t testing.TB, dir, name, content string) time.Time {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatalf("write manifest: %v", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatalf("rename manifest: %v", err)
	}
	return time.Now()
}

// removeFile deletes dir/name and returns the time it was removed.
func removeFile(t testing.TB, dir, name string) time.Time {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, name)); err != nil {
		t.Fatalf("remove manifest: %v", err)
	}
	return time.Now()
}
