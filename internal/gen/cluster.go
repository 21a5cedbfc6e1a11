package gen

import (
	"fmt"
	"math/rand/v2"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/svcnat/svcnat/synth"
)

// namespaces the Services are spread over.
var namespaces = []string{"default", "team-a", "team-b", "team-c", "kube-system"}

// maxSliceEndpoints is the EndpointSlice controller's default limit.
const maxSliceEndpoints = 100

// builder holds the state of one Cluster call: the random source and the
// address and port allocators, consumed in a fixed order.
type builder struct {
	cfg       Config
	rng       *rand.Rand
	nodes     []string
	zones     []string
	nodePorts []int32 // a shuffled NodePort range, consumed from the front
	nextPod   uint64
}

// Cluster builds the synthetic cluster cfg describes. The same Config gives
// the same objects. It panics when cfg.Validate fails.
func Cluster(cfg Config) synth.Input {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.WithDefaults()
	b := &builder{cfg: cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ec7a7))}
	b.nodes, b.zones = nodeNames(cfg)
	b.nodePorts = b.shuffledNodePorts()
	var in synth.Input
	for i := 1; i <= cfg.Services; i++ {
		svc := b.service(i)
		in.Services = append(in.Services, svc)
		in.EndpointSlices = append(in.EndpointSlices, b.slices(svc)...)
	}
	for j, name := range b.nodes {
		in.Nodes = append(in.Nodes, b.node(j, name))
	}
	return in
}

// nodeNames returns node-1 … node-N with cfg.NodeName among them, and
// their zones.
func nodeNames(cfg Config) (names, zones []string) {
	for j := range cfg.Nodes {
		names = append(names, fmt.Sprintf("node-%d", j+1))
		zones = append(zones, fmt.Sprintf("zone-%c", 'a'+j%3))
	}
	if !slices.Contains(names, cfg.NodeName) && len(names) > 0 {
		names[0] = cfg.NodeName
	}
	return names, zones
}

func (b *builder) shuffledNodePorts() []int32 {
	ports := make([]int32, 0, NodePortMax-NodePortMin+1)
	for p := NodePortMin; p <= NodePortMax; p++ {
		ports = append(ports, int32(p))
	}
	b.rng.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
	return ports
}

// takeNodePorts returns n unused NodePorts, or nil when fewer are left.
func (b *builder) takeNodePorts(n int) []int32 {
	if len(b.nodePorts) < n {
		return nil
	}
	ports := b.nodePorts[:n]
	b.nodePorts = b.nodePorts[n:]
	return ports
}

func (b *builder) node(j int, name string) *corev1.Node {
	ip := nthAddr(b.cfg.NodeCIDR, uint64(j+1))
	return &corev1.Node{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
			"kubernetes.io/hostname":      name,
			"topology.kubernetes.io/zone": b.zones[j],
		}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: ip.String()},
			{Type: corev1.NodeHostName, Address: name},
		}},
	}
}

// randomSuffix is like the API server's generateName suffix.
func (b *builder) randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	s := make([]byte, 5)
	for i := range s {
		s[i] = alphabet[b.rng.IntN(len(alphabet))]
	}
	return string(s)
}
