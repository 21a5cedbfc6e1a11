package gen_test

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/svcnat/svcnat/internal/gen"
	"github.com/svcnat/svcnat/manifest"
	"github.com/svcnat/svcnat/synth"
)

func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := gen.Config{Services: 200, EndpointsPerService: 3, Seed: 42}
	a, b := gen.Cluster(cfg), gen.Cluster(cfg)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("same Config, different clusters (-a +b):\n%s", diff)
	}
	var wa, wb bytes.Buffer
	if err := gen.Write(&wa, a); err != nil {
		t.Fatal(err)
	}
	if err := gen.Write(&wb, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wa.Bytes(), wb.Bytes()) {
		t.Error("same Config, different bytes written")
	}
	cfg.Seed = 43
	if cmp.Equal(a, gen.Cluster(cfg)) {
		t.Error("different seeds gave the same cluster")
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                             string
		cfg                              gen.Config
		services, slices, endpoints      int
		nodes, nodePortServices, twoPort int
	}{
		{"defaults", gen.Config{Services: 100, EndpointsPerService: 2}, 100, 100, 200, 10, -1, 10},
		{"no endpoints", gen.Config{Services: 5, NodePortFraction: -1, TwoPortEvery: -1}, 5, 5, 0, 10, 0, 0},
		{"big services split slices", gen.Config{Services: 3, EndpointsPerService: 250, Nodes: 4}, 3, 9, 750, 4, -1, 0},
		{"all NodePort", gen.Config{Services: 50, NodePortFraction: 1, TwoPortEvery: 5}, 50, 50, 0, 10, 50, 10},
		{"NodePorts run out", gen.Config{Services: 3000, NodePortFraction: 1, TwoPortEvery: -1}, 3000, 3000, 0, 10, 2768, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := gen.Cluster(tt.cfg)
			var endpoints, nodePort, twoPort int
			for _, eps := range in.EndpointSlices {
				endpoints += len(eps.Endpoints)
			}
			for _, svc := range in.Services {
				if svc.Spec.Type == corev1.ServiceTypeNodePort {
					nodePort++
				}
				if len(svc.Spec.Ports) == 2 {
					twoPort++
				}
			}
			got := []int{len(in.Services), len(in.EndpointSlices), endpoints, len(in.Nodes), twoPort}
			want := []int{tt.services, tt.slices, tt.endpoints, tt.nodes, tt.twoPort}
			if !slices.Equal(got, want) {
				t.Errorf("services, slices, endpoints, nodes, two-port = %v, want %v", got, want)
			}
			if tt.nodePortServices >= 0 && nodePort != tt.nodePortServices {
				t.Errorf("%d NodePort Services, want %d", nodePort, tt.nodePortServices)
			}
			checkValid(t, in, "node-1")
		})
	}
}

func TestDefaultNodePortFraction(t *testing.T) {
	t.Parallel()
	in := gen.Cluster(gen.Config{Services: 2000, Seed: 3})
	n := 0
	for _, svc := range in.Services {
		if svc.Spec.Type == corev1.ServiceTypeNodePort {
			n++
		}
	}
	if n < 150 || n > 250 {
		t.Errorf("%d of 2000 Services are NodePort, want about 10%%", n)
	}
}

func TestIPv6AndNodeName(t *testing.T) {
	t.Parallel()
	in := gen.Cluster(gen.Config{Services: 20, EndpointsPerService: 2, NodeName: "worker-7", Nodes: 3,
		ServiceCIDR: netip.MustParsePrefix("fd00:96::/108"), PodCIDR: netip.MustParsePrefix("fd00:128::/64")})
	checkValid(t, in, "worker-7")
	if got := in.Services[0].Spec.ClusterIP; got != "fd00:96::1" {
		t.Errorf("first ClusterIP %s, want fd00:96::1", got)
	}
	if in.EndpointSlices[0].AddressType != discoveryv1.AddressTypeIPv6 {
		t.Errorf("address type %s", in.EndpointSlices[0].AddressType)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	bad := []gen.Config{
		{Services: -1},
		{Services: 300, ServiceCIDR: netip.MustParsePrefix("10.96.0.0/24")},
		{Services: 10, EndpointsPerService: 30, PodCIDR: netip.MustParsePrefix("10.128.0.0/24")},
		{Services: 1, PodCIDR: netip.MustParsePrefix("fd00::/64")},
		{Services: 1, NodePortFraction: 1.5},
	}
	for _, cfg := range bad {
		if err := cfg.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil", cfg)
		}
	}
	if err := (gen.Config{Services: 254, ServiceCIDR: netip.MustParsePrefix("10.96.0.0/24")}).Validate(); err != nil {
		t.Errorf("254 Services in a /24: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	want := gen.Cluster(gen.Config{Services: 40, EndpointsPerService: 120, NodePortFraction: 0.3, Seed: 9})
	for name, write := range map[string]func(*bytes.Buffer, synth.Input) error{
		"json": func(b *bytes.Buffer, in synth.Input) error { return gen.Write(b, in) },
		"yaml": func(b *bytes.Buffer, in synth.Input) error { return gen.WriteYAML(b, in) },
	} {
		var buf bytes.Buffer
		if err := write(&buf, want); err != nil {
			t.Fatal(err)
		}
		got, err := manifest.Read(name, &buf)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// The reader drops fields svcnat never reads (targetRefs,
		// selectors, ...), so the round trip compares what svcnat makes
		// of the objects, and their number.
		if len(got.Services) != len(want.Services) || len(got.EndpointSlices) != len(want.EndpointSlices) || len(got.Nodes) != len(want.Nodes) {
			t.Errorf("%s round trip: %d/%d/%d objects, want %d/%d/%d", name, len(got.Services), len(got.EndpointSlices),
				len(got.Nodes), len(want.Services), len(want.EndpointSlices), len(want.Nodes))
		}
		cfg := synth.Config{NodeName: "node-1"}
		if diff := cmp.Diff(synth.Build(want, cfg), synth.Build(got, cfg), cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})); diff != "" {
			t.Errorf("%s round trip changes the model (-want +got):\n%s", name, diff)
		}
	}
}
