package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/synth"
)

// TestDataplaneSmoke runs one short round of the data-plane benchmark on
// 10 Services with nftables: every path carries connections, none fails,
// and the table has a line per path. Seconds, not a measurement.
func TestDataplaneSmoke(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	o, err := parseFlags([]string{"--dataplane", "--sizes", "10", "--backends", "nftables",
		"--rounds", "1", "--round", "200ms", "--workers", "2"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	rows := runDataplane(context.Background(), o)
	if len(rows) != 1 || rows[0].err != nil {
		t.Fatalf("rows %+v", rows)
	}
	for _, p := range rows[0].paths {
		if len(p.rates) != 1 || p.rates[0] <= 0 || p.errors != 0 || len(p.connect) == 0 {
			t.Errorf("%s: rates %v, %d failed (%v), %d latencies", p.name, p.rates, p.errors, p.lastErr, len(p.connect))
		}
	}
	var out bytes.Buffer
	printDataplaneTable(&out, o, rows)
	for _, path := range []string{"direct", "ClusterIP", "NodePort"} {
		if want := "| 10 | nftables | " + path + " |"; !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
}

func TestDataplaneFlags(t *testing.T) {
	o, err := parseFlags([]string{"--dataplane"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.backends, ","); got != "nftables,iptables-legacy,iptables-nft" {
		t.Errorf("default backends %s", got)
	}
	if len(o.sizes) != 2 || o.sizes[0] != 10 || o.sizes[1] != 10000 {
		t.Errorf("default sizes %v", o.sizes)
	}
	if o.dataplane.workers != 4 || o.dataplane.rounds != 5 || o.dataplane.round != 2*time.Second {
		t.Errorf("default load %+v", o.dataplane)
	}
	if _, err := parseFlags([]string{"--dataplane", "--workers", "0"}, &bytes.Buffer{}); err == nil {
		t.Error("--workers 0 accepted")
	}
	if _, err := parseFlags([]string{"--dataplane", "--paths", "direct,LoadBalancer"}, &bytes.Buffer{}); err == nil {
		t.Error("--paths with an unknown path accepted")
	}
	paths := []dpPath{{name: "direct"}, {name: "ClusterIP"}, {name: "NodePort"}}
	if got := selectPaths(paths, []string{"NodePort", "ClusterIP"}); len(got) != 2 || got[0].name != "ClusterIP" || got[1].name != "NodePort" {
		t.Errorf("selectPaths = %v", got)
	}
}

// TestDataplaneCluster: the measured Service is added with a NodePort no
// generated Service holds, and synth gives it the lab pod as endpoint.
func TestDataplaneCluster(t *testing.T) {
	in, nodePort := dataplaneCluster(100)
	for _, s := range in.Services[:len(in.Services)-1] {
		for _, p := range s.Spec.Ports {
			if uint16(p.NodePort) == nodePort {
				t.Fatalf("NodePort %d is also %s/%s's", nodePort, s.Namespace, s.Name)
			}
		}
	}
	res := synth.Build(in, dataplaneConfig(netip.MustParseAddr("192.168.1.100")))
	rs := res.IPv4
	sp := rs.Services[len(rs.Services)-1]
	if sp.ClusterIP != targetClusterIP || sp.NodePort != nodePort || len(sp.ClusterEndpoints) != 1 ||
		sp.ClusterEndpoints[0].Addr != podIP || sp.ClusterEndpoints[0].Port != podPort {
		t.Errorf("measured Service is not last or wrong: %+v", sp)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %v", res.Warnings)
	}
}
