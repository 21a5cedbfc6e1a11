package synth

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ProxyNameLabel marks a Service that belongs to another proxy.
const ProxyNameLabel = "service.kubernetes.io/service-proxy-name"

// HeadlessLabel marks a Service kube-proxy ignores (used by the API server's
// endpoints for headless services).
const HeadlessLabel = "service.kubernetes.io/headless"

const defaultAffinitySeconds = 10800

// serviceInfo is a validated Service, before conflicts and endpoints.
type serviceInfo struct {
	svc         *corev1.Service
	object      string // "Service ns/name", for warnings
	ports       []portInfo
	clusterIPs  [2]netip.Addr // per Family.index; invalid when the Service has none
	externalIPs []netip.Addr
	lbIPs       []netip.Addr
	ranges      []netip.Prefix
	itpLocal    bool
	etpLocal    bool
	hcNodePort  uint16
	affinity    int32
	topology    bool // topology hints may be used
}

type portInfo struct {
	name       string
	proto      Protocol
	port       uint16
	nodePort   uint16
	targetPort intstr.IntOrString
}

// wantsRules reports whether svc is programmed at all. Headless and
// ExternalName Services, and Services of other proxies, get no rules and no
// warning: they are valid, just not ours.
func wantsRules(svc *corev1.Service) bool {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return false
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return false
	}
	if _, ok := svc.Labels[ProxyNameLabel]; ok {
		return false
	}
	_, headless := svc.Labels[HeadlessLabel]
	return !headless
}

// parseService validates svc. It returns nil when nothing of it can be
// programmed; partial problems (one bad port, one bad external IP) are
// warned about and skipped.
func parseService(svc *corev1.Service, cfg Config, w *warnings) *serviceInfo {
	si := &serviceInfo{
		svc:    svc,
		object: "Service " + svc.Namespace + "/" + svc.Name,
	}
	if !si.parseClusterIPs(w) {
		return nil
	}
	si.parsePorts(w)
	si.checkNodePortRange(cfg.NodePortRange, w)
	if len(si.ports) == 0 {
		w.add(si.object, "NoValidPorts", "no valid port; the Service is skipped")
		return nil
	}
	si.parseExternal(cfg, w)
	si.parsePolicies()
	if si.affinity > MaxAffinitySeconds {
		w.add(si.object, "InvalidAffinityTimeout", "sessionAffinityConfig.clientIP.timeoutSeconds %d is above the maximum %d; %d is used",
			si.affinity, MaxAffinitySeconds, MaxAffinitySeconds)
		si.affinity = MaxAffinitySeconds
	}
	return si
}

// MaxAffinitySeconds is the API server's limit on a Service's session
// affinity timeout (one day). Manifests are not validated by it, and an
// nft set timeout above ~49 days does not even load.
const MaxAffinitySeconds = 86400

// checkNodePortRange warns about nodePorts outside the cluster's range
// (the API server's --service-node-port-range), which the API server
// would have refused; they are still programmed, as written.
func (si *serviceInfo) checkNodePortRange(r PortRange, w *warnings) {
	if r.Max == 0 {
		return
	}
	for _, pi := range si.ports {
		if pi.nodePort != 0 && (pi.nodePort < r.Min || pi.nodePort > r.Max) {
			w.add(si.object, "NodePortOutOfRange", "nodePort %d of port %q is outside the node port range %s", pi.nodePort, pi.name, r)
		}
	}
}

func (si *serviceInfo) parseClusterIPs(w *warnings) bool {
	ips := si.svc.Spec.ClusterIPs
	if len(ips) == 0 && si.svc.Spec.ClusterIP != "" {
		ips = []string{si.svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		ip, err := ParseAddrSloppy(s)
		if err != nil {
			w.add(si.object, "InvalidClusterIP", "clusterIP %q: %v", s, err)
			continue
		}
		f := FamilyOf(ip)
		if _, dup := si.clusterIP(f); dup {
			w.add(si.object, "InvalidClusterIP", "second %s clusterIP %s ignored", f, ip)
			continue
		}
		si.clusterIPs[f.index()] = ip
	}
	if si.clusterIPs == [2]netip.Addr{} { // neither family
		w.add(si.object, "InvalidClusterIP", "no usable clusterIP; the Service is skipped")
		return false
	}
	return true
}

// clusterIP is the Service's ClusterIP of family f, if it has one.
func (si *serviceInfo) clusterIP(f Family) (netip.Addr, bool) {
	ip := si.clusterIPs[f.index()]
	return ip, ip.IsValid()
}

func (si *serviceInfo) parsePorts(w *warnings) {
	seen := map[string]bool{}
	for i, p := range si.svc.Spec.Ports {
		pi, err := parsePort(p, si.svc.Spec.Type)
		if err == nil {
			err = checkDuplicatePort(seen, pi)
		}
		if err != nil {
			w.add(si.object, "InvalidPort", "port %d (%q): %v; the port is skipped", i, p.Name, err)
			continue
		}
		si.ports = append(si.ports, pi)
	}
}

func parsePort(p corev1.ServicePort, typ corev1.ServiceType) (portInfo, error) {
	pi := portInfo{name: p.Name, proto: Protocol(strings.ToLower(string(p.Protocol))), targetPort: p.TargetPort}
	if p.Protocol == "" {
		pi.proto = TCP
	}
	if pi.proto.Number() == 0 {
		return pi, fmt.Errorf("unsupported protocol %q", p.Protocol)
	}
	if p.Port < 1 || p.Port > 65535 {
		return pi, fmt.Errorf("port %d out of range 1-65535", p.Port)
	}
	pi.port = uint16(p.Port)
	if typ == corev1.ServiceTypeNodePort || typ == corev1.ServiceTypeLoadBalancer {
		if p.NodePort < 0 || p.NodePort > 65535 {
			return pi, fmt.Errorf("nodePort %d out of range 1-65535", p.NodePort)
		}
		pi.nodePort = uint16(p.NodePort)
	}
	if pi.targetPort.Type == intstr.Int && (pi.targetPort.IntVal < 0 || pi.targetPort.IntVal > 65535) {
		return pi, fmt.Errorf("targetPort %d out of range 1-65535", pi.targetPort.IntVal)
	}
	if pi.targetPort.Type == intstr.Int && pi.targetPort.IntVal == 0 {
		pi.targetPort = intstr.FromInt32(int32(pi.port)) // the API's default
	}
	return pi, nil
}

func checkDuplicatePort(seen map[string]bool, pi portInfo) error {
	byNumber := fmt.Sprintf("#%d/%s", pi.port, pi.proto)
	byName := "name:" + pi.name + "/" + string(pi.proto)
	switch {
	case seen[byNumber]:
		return fmt.Errorf("duplicate port %d/%s", pi.port, pi.proto)
	case seen[byName]:
		return fmt.Errorf("duplicate port name %q", pi.name)
	}
	seen[byNumber], seen[byName] = true, true
	return nil
}

func (si *serviceInfo) parseExternal(cfg Config, w *warnings) {
	spec := si.svc.Spec
	for _, s := range spec.ExternalIPs {
		ip, err := ParseAddrSloppy(s)
		switch {
		case err != nil:
			w.add(si.object, "InvalidExternalIP", "externalIP %q: %v", s, err)
		case specialAddr(ip) != "":
			w.add(si.object, "InvalidExternalIP", "externalIP %s is %s; it is skipped", ip, specialAddr(ip))
		case len(cfg.ExternalIPAllowList) > 0 && !prefixesContain(cfg.ExternalIPAllowList, ip):
			w.add(si.object, "ExternalIPNotAllowed", "externalIP %s is outside the allowed ranges", ip)
		default:
			si.externalIPs = append(si.externalIPs, ip)
		}
	}
	if spec.Type != corev1.ServiceTypeLoadBalancer {
		return
	}
	for _, ing := range si.svc.Status.LoadBalancer.Ingress {
		if ing.IP == "" || (ing.IPMode != nil && *ing.IPMode == corev1.LoadBalancerIPModeProxy) {
			continue // hostname-only or proxy-mode ingress: the LB itself delivers to nodes
		}
		ip, err := ParseAddrSloppy(ing.IP)
		if err != nil {
			w.add(si.object, "InvalidLoadBalancerIP", "ingress IP %q: %v", ing.IP, err)
			continue
		}
		si.lbIPs = append(si.lbIPs, ip)
	}
	for _, s := range spec.LoadBalancerSourceRanges {
		p, err := ParsePrefixSloppy(strings.TrimSpace(s))
		if err != nil {
			w.add(si.object, "InvalidSourceRange", "loadBalancerSourceRange %q: %v", s, err)
			continue
		}
		si.ranges = append(si.ranges, p)
	}
}

// specialAddr says why the API server refuses ip as an externalIP
// (ValidateNonSpecialIP), and also refuses multicast, which cannot be a
// DNAT destination: "" for an ordinary address.
func specialAddr(ip netip.Addr) string {
	switch {
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast():
		return "multicast"
	}
	return ""
}

func (si *serviceInfo) parsePolicies() {
	spec := si.svc.Spec
	si.itpLocal = spec.InternalTrafficPolicy != nil && *spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal
	external := spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer || len(si.externalIPs) > 0
	si.etpLocal = external && spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	if si.etpLocal && spec.Type == corev1.ServiceTypeLoadBalancer && spec.HealthCheckNodePort > 0 && spec.HealthCheckNodePort <= 65535 {
		si.hcNodePort = uint16(spec.HealthCheckNodePort)
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		si.affinity = defaultAffinitySeconds
		if c := spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
			si.affinity = *c.ClientIP.TimeoutSeconds
		}
	}
	mode := strings.ToLower(si.svc.Annotations["service.kubernetes.io/topology-mode"])
	si.topology = mode != "disabled" && mode != "off"
}
