package synth

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func nodePortService(ns, name string, created time.Time, clusterIP string, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeNodePort,
			ClusterIP:  clusterIP,
			ClusterIPs: []string{clusterIP},
			Ports: []corev1.ServicePort{{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 80,
				TargetPort: intstr.FromInt32(8080), NodePort: nodePort,
			}},
		},
	}
}

// nodePortOwner returns the Service that got nodePort in the IPv4 ruleset.
func nodePortOwner(t *testing.T, res Result, nodePort uint16) string {
	t.Helper()
	owner := ""
	for _, sp := range res.IPv4.Services {
		if sp.NodePort == nodePort {
			if owner != "" {
				t.Fatalf("nodePort %d given to both %s and %s", nodePort, owner, sp.Name)
			}
			owner = sp.Name.Namespace + "/" + sp.Name.Name
		}
	}
	return owner
}

// TestConflictOrdering: the oldest Service wins a contested nodePort, then
// namespace/name breaks ties; input order never matters.
func TestConflictOrdering(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		services []*corev1.Service
		want     string
	}{
		{"older wins over a smaller name", []*corev1.Service{
			nodePortService("default", "a", t0.Add(time.Hour), "10.96.0.1", 30000),
			nodePortService("default", "z", t0, "10.96.0.2", 30000),
		}, "default/z"},
		{"same time: namespace first", []*corev1.Service{
			nodePortService("zz", "a", t0, "10.96.0.1", 30000),
			nodePortService("aa", "z", t0, "10.96.0.2", 30000),
		}, "aa/z"},
		{"same time and namespace: name", []*corev1.Service{
			nodePortService("default", "b", t0, "10.96.0.1", 30000),
			nodePortService("default", "a", t0, "10.96.0.2", 30000),
		}, "default/a"},
		{"no timestamps: name", []*corev1.Service{
			nodePortService("default", "web2", time.Time{}, "10.96.0.1", 30000),
			nodePortService("default", "web1", time.Time{}, "10.96.0.2", 30000),
		}, "default/web1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, order := range [][]*corev1.Service{tc.services, reversed(tc.services)} {
				res := Build(Input{Services: order}, Config{NodeIPs: []netip.Addr{netip.MustParseAddr("192.168.1.100")}})
				if got := nodePortOwner(t, res, 30000); got != tc.want {
					t.Errorf("nodePort owner %s, want %s", got, tc.want)
				}
				if len(res.Warnings) != 1 || res.Warnings[0].Reason != "DuplicateNodePort" {
					t.Errorf("warnings %v, want one DuplicateNodePort", res.Warnings)
				}
				// The loser keeps its ClusterIP.
				if n := len(res.IPv4.Services); n != 2 {
					t.Errorf("%d service ports, want 2", n)
				}
			}
		})
	}
}

func TestDuplicateClusterIPPortKeepsOtherPorts(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	old := nodePortService("default", "old", t0, "10.96.0.9", 0)
	newer := nodePortService("default", "new", t0.Add(time.Minute), "10.96.0.9", 0)
	newer.Spec.Ports = append(newer.Spec.Ports, corev1.ServicePort{Name: "alt", Protocol: corev1.ProtocolTCP, Port: 81})
	res := Build(Input{Services: []*corev1.Service{newer, old}}, Config{})
	var got []string
	for _, sp := range res.IPv4.Services {
		got = append(got, sp.Name.String())
	}
	want := []string{"default/new:alt/tcp", "default/old:http/tcp"}
	if !slices.Equal(got, want) {
		t.Errorf("service ports %v, want %v", got, want)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Object != "Service default/new" || res.Warnings[0].Reason != "DuplicateClusterIPPort" {
		t.Errorf("warnings %v", res.Warnings)
	}
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// ep builds a rawEndpoint: "r" ready, "s" serving, "t" terminating.
func ep(addr, node, cond string, zones ...string) rawEndpoint {
	has := func(c rune) bool { return slices.Contains([]rune(cond), c) }
	r := rawEndpoint{port: 8080, SliceEndpoint: SliceEndpoint{
		Addr: netip.MustParseAddr(addr), NodeName: node,
		Ready: has('r'), Serving: has('s'), Terminating: has('t'),
	}}
	if len(zones) > 0 {
		r.Hints = &discoveryv1.EndpointHints{}
		for _, z := range zones {
			r.Hints.ForZones = append(r.Hints.ForZones, discoveryv1.ForZone{Name: z})
		}
	}
	return r
}

// withNodeHint returns r hinted for node (and its zones kept).
func withNodeHint(r rawEndpoint, node string) rawEndpoint {
	h := &discoveryv1.EndpointHints{ForNodes: []discoveryv1.ForNode{{Name: node}}}
	if r.Hints != nil {
		h.ForZones = r.Hints.ForZones
	}
	r.Hints = h
	return r
}

func addrsOf(eps []Endpoint) []string {
	var out []string
	for _, e := range eps {
		s := e.Addr.String()
		if e.Terminating {
			s += "(t)"
		}
		out = append(out, s)
	}
	return out
}

func TestCategorize(t *testing.T) {
	node := nodeFacts{name: "node-1", zone: "zone-a"}
	for _, tc := range []struct {
		name           string
		raw            []rawEndpoint
		topology       bool
		needLocal      bool
		cluster, local []string
	}{
		{"ready only", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs"), ep("10.244.2.2", "node-2", "st"), ep("10.244.2.3", "node-2", "t"),
		}, false, false, []string{"10.244.1.2"}, nil},
		{"serving+terminating fallback, never not-serving", []rawEndpoint{
			ep("10.244.1.2", "node-1", "st"), ep("10.244.2.2", "node-2", "st"), ep("10.244.2.3", "node-2", "t"),
		}, false, false, []string{"10.244.1.2(t)", "10.244.2.2(t)"}, nil},
		{"serving but not terminating is not a fallback", []rawEndpoint{
			ep("10.244.1.2", "node-1", "s"),
		}, false, true, nil, nil},
		{"local falls back on its own", []rawEndpoint{
			ep("10.244.1.2", "node-1", "st"), ep("10.244.2.2", "node-2", "rs"),
		}, false, true, []string{"10.244.2.2"}, []string{"10.244.1.2(t)"}},
		{"local prefers ready", []rawEndpoint{
			ep("10.244.1.2", "node-1", "st"), ep("10.244.1.3", "node-1", "rs"), ep("10.244.2.2", "node-2", "rs"),
		}, false, true, []string{"10.244.1.3", "10.244.2.2"}, []string{"10.244.1.3"}},
		{"zone hints for this zone", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs", "zone-a"), ep("10.244.2.2", "node-2", "rs", "zone-a"), ep("10.244.2.3", "node-2", "rs", "zone-b"),
		}, true, false, []string{"10.244.1.2", "10.244.2.2"}, nil},
		{"zone hints ignored when topology is off", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs", "zone-a"), ep("10.244.2.3", "node-2", "rs", "zone-b"),
		}, false, false, []string{"10.244.1.2", "10.244.2.3"}, nil},
		{"one endpoint without hints: all", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs", "zone-a"), ep("10.244.2.3", "node-2", "rs"),
		}, true, false, []string{"10.244.1.2", "10.244.2.3"}, nil},
		{"no hint for this zone: all", []rawEndpoint{
			ep("10.244.2.2", "node-2", "rs", "zone-b"), ep("10.244.2.3", "node-2", "rs", "zone-b"),
		}, true, false, []string{"10.244.2.2", "10.244.2.3"}, nil},
		{"hints of unready endpoints do not count", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs", "zone-a"), ep("10.244.2.3", "node-2", "rs", "zone-b"), ep("10.244.2.4", "node-2", ""),
		}, true, false, []string{"10.244.1.2"}, nil},
		{"local ignores topology", []rawEndpoint{
			ep("10.244.1.2", "node-1", "rs", "zone-b"), ep("10.244.2.2", "node-2", "rs", "zone-a"),
		}, true, true, []string{"10.244.2.2"}, []string{"10.244.1.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster, local := categorize(tc.raw, node, tc.topology, tc.needLocal)
			if got := addrsOf(cluster); !slices.Equal(got, tc.cluster) {
				t.Errorf("cluster %v, want %v", got, tc.cluster)
			}
			if got := addrsOf(local); !slices.Equal(got, tc.local) {
				t.Errorf("local %v, want %v", got, tc.local)
			}
		})
	}
}

func TestCategorizeNodeHints(t *testing.T) {
	node := nodeFacts{name: "node-1", zone: "zone-a"}
	a := withNodeHint(ep("10.244.1.2", "node-1", "rs", "zone-a"), "node-1")
	b := withNodeHint(ep("10.244.1.3", "node-1", "rs", "zone-a"), "node-3") // another node of zone-a
	c := withNodeHint(ep("10.244.2.2", "node-2", "rs", "zone-b"), "node-2")
	cluster, _ := categorize([]rawEndpoint{a, b, c}, node, true, false)
	if got := addrsOf(cluster); !slices.Equal(got, []string{"10.244.1.2"}) {
		t.Errorf("node hints: %v", got)
	}
	// No endpoint for this node: fall back to the zone hints.
	a = withNodeHint(a, "node-3")
	cluster, _ = categorize([]rawEndpoint{a, b, c}, node, true, false)
	if got := addrsOf(cluster); !slices.Equal(got, []string{"10.244.1.2", "10.244.1.3"}) {
		t.Errorf("zone fallback: %v", got)
	}
}

func TestMergeEndpoint(t *testing.T) {
	var seen map[netip.AddrPort]int
	list, seen := mergeEndpoint(nil, seen, ep("10.244.1.2", "node-1", "t"), true)
	list, seen = mergeEndpoint(list, seen, ep("10.244.1.2", "node-1", "rs"), true)
	list, _ = mergeEndpoint(list, seen, ep("10.244.1.3", "node-1", "rs"), true)
	if len(list) != 2 {
		t.Fatalf("%d endpoints, want 2", len(list))
	}
	if m := list[0]; !m.Ready || !m.Serving || m.Terminating {
		t.Errorf("merged %+v: want ready, serving, not terminating", m)
	}
}
