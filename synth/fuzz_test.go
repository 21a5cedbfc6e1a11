package synth_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

// knownGood is a Service with an endpoint that any input must leave
// programmed, unless the input itself claims its ClusterIP.
const knownGood = `apiVersion: v1
kind: Service
metadata: {name: known, namespace: fuzz-known, creationTimestamp: "1970-01-01T00:00:01Z"}
spec: {clusterIP: 10.255.255.254, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: known-1, namespace: fuzz-known, labels: {kubernetes.io/service-name: known}}
addressType: IPv4
endpoints: [{addresses: [10.254.0.1]}]
ports: [{port: 8080}]
`

var knownIP = netip.MustParseAddr("10.255.255.254")

// FuzzBuild reads arbitrary manifests next to a known-good Service and
// checks that Build never panics, is deterministic, that a Builder gives
// what Build gives, and that the known-good Service survives whatever
// else the input holds.
func FuzzBuild(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.96.0.1, type: NodePort, ports: [{port: 80, nodePort: 30080}]}\n"))
	cfg := synth.Config{NodeName: "node-1", NodeIPs: []netip.Addr{netip.MustParseAddr("192.168.1.1")},
		ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.128.0.0/9")}, NodePortRange: synth.DefaultNodePortRange}
	f.Fuzz(func(t *testing.T, data []byte) {
		var l manifest.Loader
		in, err := l.Read("fuzz.yaml", strings.NewReader(knownGood+"---\n"+string(data)))
		if err != nil {
			t.Fatal(err)
		}
		res := synth.Build(in, cfg)
		if diff := cmp.Diff(res, synth.Build(in, cfg), netipValues, ignoreChanged); diff != "" {
			t.Fatalf("Build is not deterministic:\n%s", diff)
		}
		var b synth.Builder
		b.Build(synth.Input{}, cfg)
		if diff := cmp.Diff(res, b.Build(in, cfg), netipValues, ignoreChanged); diff != "" {
			t.Fatalf("Builder differs from Build (-want +got):\n%s", diff)
		}
		for _, w := range res.Warnings {
			if strings.ContainsAny(w.String(), "\n\r\x1b") {
				t.Fatalf("warning is not one clean line: %q", w.String())
			}
		}
		if claimsKnownIP(in) {
			return
		}
		if !hasKnown(res) {
			t.Fatalf("the known-good Service is gone; warnings: %v", res.Warnings)
		}
	})
}

// claimsKnownIP reports whether the input itself takes the known-good
// Service's ClusterIP or adds to its namespace (its own endpoints).
func claimsKnownIP(in synth.Input) bool {
	for _, s := range in.EndpointSlices {
		if s.Namespace == "fuzz-known" && s.Name != "known-1" {
			return true
		}
	}
	for _, s := range in.Services {
		if s.Namespace == "fuzz-known" && s.Name == "known" {
			continue
		}
		for _, ip := range append([]string{s.Spec.ClusterIP}, s.Spec.ClusterIPs...) {
			if a, err := synth.ParseAddrSloppy(ip); err == nil && a.Unmap() == knownIP {
				return true
			}
		}
	}
	return false
}

func hasKnown(res synth.Result) bool {
	if res.IPv4 == nil {
		return false
	}
	for _, sp := range res.IPv4.Services {
		if sp.Name.Namespace == "fuzz-known" && sp.Name.Name == "known" && sp.ClusterIP == knownIP &&
			len(sp.ClusterEndpoints) == 1 && sp.ClusterEndpoints[0].Addr == netip.MustParseAddr("10.254.0.1") {
			return true
		}
	}
	return false
}
