package gen

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// portSpec is one Service port and the container port behind it.
type portSpec struct {
	name          string // Service port name ("" for single-port Services)
	protocol      corev1.Protocol
	port          int32
	containerPort int32
	containerName string // the container port's name, for named targetPorts
}

// portSets are the shapes of generated Services: one unnamed port, or two
// named ports (a web server, a DNS server).
var (
	singlePort = []portSpec{{"", corev1.ProtocolTCP, 80, 8080, "http"}}
	webPorts   = []portSpec{
		{"http", corev1.ProtocolTCP, 80, 8080, "http"},
		{"https", corev1.ProtocolTCP, 443, 8443, "https"},
	}
	dnsPorts = []portSpec{
		{"dns", corev1.ProtocolUDP, 53, 5353, "dns"},
		{"dns-tcp", corev1.ProtocolTCP, 53, 5353, "dns-tcp"},
	}
)

// portsOf returns the port shape of Service number i.
func (b *builder) portsOf(i int) []portSpec {
	every := b.cfg.TwoPortEvery
	if every <= 0 || i%every != 0 {
		return singlePort
	}
	if (i/every)%2 == 0 {
		return dnsPorts
	}
	return webPorts
}

// service builds Service number i (from 1).
func (b *builder) service(i int) *corev1.Service {
	name := fmt.Sprintf("svc-%05d", i)
	ns := namespaces[b.rng.IntN(len(namespaces))]
	specs := b.portsOf(i)
	named := b.rng.IntN(3) == 0
	var nodePorts []int32
	if b.rng.Float64() < b.cfg.NodePortFraction {
		nodePorts = b.takeNodePorts(len(specs))
	}
	ip := nthAddr(b.cfg.ServiceCIDR, uint64(i)).String()
	svc := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
			Labels: map[string]string{"app": name}},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			Selector:              map[string]string{"app": name},
			ClusterIP:             ip,
			ClusterIPs:            []string{ip},
			IPFamilies:            []corev1.IPFamily{ipFamily(b.cfg.ServiceCIDR)},
			IPFamilyPolicy:        ptr(corev1.IPFamilyPolicySingleStack),
			SessionAffinity:       corev1.ServiceAffinityNone,
			InternalTrafficPolicy: ptr(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
	for k, ps := range specs {
		svc.Spec.Ports = append(svc.Spec.Ports, servicePort(ps, named, nodePorts, k))
	}
	if nodePorts != nil {
		svc.Spec.Type = corev1.ServiceTypeNodePort
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	return svc
}

func servicePort(ps portSpec, named bool, nodePorts []int32, k int) corev1.ServicePort {
	sp := corev1.ServicePort{Name: ps.name, Protocol: ps.protocol, Port: ps.port,
		TargetPort: intstr.FromInt32(ps.containerPort)}
	if named {
		sp.TargetPort = intstr.FromString(ps.containerName)
	}
	if nodePorts != nil {
		sp.NodePort = nodePorts[k]
	}
	return sp
}

func ipFamily(p netip.Prefix) corev1.IPFamily {
	if p.Addr().Is4() {
		return corev1.IPv4Protocol
	}
	return corev1.IPv6Protocol
}

func ptr[T any](v T) *T { return &v }
