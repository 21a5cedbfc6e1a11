package source

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/svcnat/svcnat/synth"
)

// fatMeta is metadata as the API server returns it: labels, annotations,
// owners and managed fields that svcnat never reads, around the ones it
// does.
func fatMeta(ns, name string, labels, annotations map[string]string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{
		Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "4711", Generation: 3,
		CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)),
		Labels: map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop",
			"helm.sh/chart": "shop-1.2.3", "team": "payments"},
		Annotations: map[string]string{
			"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"v1","kind":"Whatever","metadata":{"name":"` + name + `","labels":{"app":"x"}},"spec":{"lots":"of text that nobody reads"}}`,
			"meta.helm.sh/release-name":                        "shop",
		},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Service", Name: name, UID: "owner"}},
		Finalizers:      []string{"example.com/keep"},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kube-controller-manager", Operation: "Update", APIVersion: "v1",
			Time: ptr.To(metav1.Now()), FieldsType: "FieldsV1",
			FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:ports":{"k:{\"port\":80}":{".":{}}}}}`)}}},
	}
	for k, v := range labels {
		m.Labels[k] = v
	}
	for k, v := range annotations {
		m.Annotations[k] = v
	}
	return m
}

func fatService(name, clusterIP, topologyMode string, labels map[string]string) *corev1.Service {
	ann := map[string]string{}
	if topologyMode != "" {
		ann["service.kubernetes.io/topology-mode"] = topologyMode
	}
	return &corev1.Service{
		ObjectMeta: fatMeta("shop", name, labels, ann),
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer, ClusterIP: clusterIP, ClusterIPs: []string{clusterIP},
			Selector:              map[string]string{"app": name},
			Ports:                 []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080}},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, HealthCheckNodePort: 32000,
			SessionAffinity:          corev1.ServiceAffinityClientIP,
			LoadBalancerSourceRanges: []string{"192.0.2.0/24"},
		},
		Status: corev1.ServiceStatus{
			LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.51.100.7"}}},
			Conditions:   []metav1.Condition{{Type: "Ready", Status: "True", Reason: "Provisioned", Message: "load balancer provisioned by the cloud"}},
		},
	}
}

func fatSlice(name, service string) *discoveryv1.EndpointSlice {
	ep := func(ip, node, zone string, hint string) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{
			Addresses: []string{ip}, NodeName: ptr.To(node), Zone: ptr.To(zone), Hostname: ptr.To("pod-" + ip),
			Conditions:         discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			Hints:              &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: hint}}},
			TargetRef:          &corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "pod-" + ip, UID: "pod-uid"},
			DeprecatedTopology: map[string]string{"kubernetes.io/hostname": node, "topology.kubernetes.io/zone": zone},
		}
	}
	return &discoveryv1.EndpointSlice{
		ObjectMeta: fatMeta("shop", name,
			map[string]string{discoveryv1.LabelServiceName: service, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			map[string]string{corev1.EndpointsLastChangeTriggerTime: "2026-01-02T03:04:05Z"}),
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("http"), Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To[int32](8080)}},
		Endpoints: []discoveryv1.Endpoint{
			ep("10.244.1.5", "node-1", "zone-a", "zone-a"),
			ep("10.244.2.5", "node-2", "zone-b", "zone-b"),
			ep("10.244.3.5", "node-3", "zone-b", "zone-b"),
		},
	}
}

// drainingSlice has no ready endpoint, so the conditions decide what is
// used (serving and terminating ones), and an endpoint with two addresses.
func drainingSlice(name, service string) *discoveryv1.EndpointSlice {
	s := fatSlice(name, service)
	conds := []discoveryv1.EndpointConditions{
		{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)},
		{Ready: ptr.To(false), Serving: ptr.To(false), Terminating: ptr.To(true)},
		{Ready: ptr.To(false), Serving: ptr.To(true), Terminating: ptr.To(true)},
	}
	for i := range s.Endpoints {
		s.Endpoints[i].Conditions = conds[i]
	}
	s.Endpoints[2].Addresses = append(s.Endpoints[2].Addresses, "10.244.3.99")
	return s
}

func fatNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: fatMeta("", name, map[string]string{corev1.LabelTopologyZone: "zone-a", corev1.LabelHostname: name},
			map[string]string{"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"},
			Taints: []corev1.Taint{{Key: "dedicated", Value: "shop", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.11"}, {Type: corev1.NodeHostName, Address: name}},
			Capacity:  corev1.ResourceList{},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
				Message: "kubelet is posting ready status"}},
			Images: []corev1.ContainerImage{{Names: []string{"registry.k8s.io/pause@sha256:0123456789abcdef", "registry.k8s.io/pause:3.10"}, SizeBytes: 320000}},
			NodeInfo: corev1.NodeSystemInfo{KernelVersion: "6.8.0", OSImage: "Ubuntu 24.04", ContainerRuntimeVersion: "containerd://2.0.0",
				KubeletVersion: "v1.37.2", Architecture: "amd64", OperatingSystem: "linux"},
		},
	}
}

// fatInput is one fully populated object of each kind svcnat reads, with
// the labels and annotations it reads set so that they matter: the zone
// label and topology-mode decide which endpoints are used, the proxy-name
// label removes a Service.
func fatInput() synth.Input {
	return synth.Input{
		Services: []*corev1.Service{
			fatService("web", "10.96.0.10", "", nil),
			fatService("api", "10.96.0.11", "Disabled", nil),
			fatService("elsewhere", "10.96.0.12", "", map[string]string{LabelServiceProxyName: "other"}),
			fatService("draining", "10.96.0.13", "", nil),
		},
		EndpointSlices: []*discoveryv1.EndpointSlice{fatSlice("web-1", "web"), fatSlice("api-1", "api"),
			fatSlice("elsewhere-1", "elsewhere"), drainingSlice("draining-1", "draining")},
		Nodes: []*corev1.Node{fatNode("node-1")},
	}
}

func leanInput(t *testing.T, in synth.Input) synth.Input {
	t.Helper()
	var out synth.Input
	for _, s := range in.Services {
		obj, err := leanObject(s.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		out.Services = append(out.Services, obj.(*corev1.Service))
	}
	for _, s := range in.EndpointSlices {
		obj, _ := leanObject(s.DeepCopy())
		out.Slices = append(out.Slices, obj.(*cachedSlice).slice())
	}
	for _, n := range in.Nodes {
		obj, _ := leanObject(n.DeepCopy())
		out.Nodes = append(out.Nodes, obj.(*corev1.Node))
	}
	return out
}

func jsonSize(t *testing.T, v any) int {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

var (
	netipValues   = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})
	ignoreChanged = cmpopts.IgnoreFields(synth.Result{}, "Changed")
)

// TestLeanObjectKeepsTheResult: the transformed objects build the same
// rules and warnings as the originals under configurations that take the
// node's zone, IPs and pod CIDRs from its Node object, and are smaller.
func TestLeanObjectKeepsTheResult(t *testing.T) {
	configs := map[string]synth.Config{
		"node from object": {NodeName: "node-1", LocalDetect: synth.LocalDetectNodeCIDR, NodePortPrimary: true},
		"node configured": {NodeName: "node-1", NodeIPs: []netip.Addr{netip.MustParseAddr("192.168.1.11")},
			ClusterCIDRs: []netip.Prefix{netip.MustParsePrefix("10.244.0.0/16")}},
	}
	fat := fatInput()
	lean := leanInput(t, fat)
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			want := synth.Build(fat, cfg)
			if want.IPv4 == nil || len(want.IPv4.Services) == 0 {
				t.Fatal("the fixture programs nothing; the comparison would prove nothing")
			}
			if diff := cmp.Diff(want, synth.Build(lean, cfg), netipValues, ignoreChanged); diff != "" {
				t.Errorf("Build of the lean objects differs (-fat +lean):\n%s", diff)
			}
		})
	}

	// The kept metadata matters: without it the result differs, so the
	// comparison above can fail.
	bare := leanInput(t, fat)
	for _, s := range bare.Services {
		s.Labels, s.Annotations = nil, nil
	}
	bare.Nodes[0].Labels = nil
	cfg := configs["node from object"]
	if cmp.Equal(synth.Build(fat, cfg), synth.Build(bare, cfg), netipValues, ignoreChanged) {
		t.Error("dropping the read labels and annotations changes nothing: the fixture does not exercise them")
	}
	// So do the conditions: read as "ready" (nil), the draining Service
	// would use an endpoint that is not serving.
	unconditioned := leanInput(t, fat)
	for _, s := range unconditioned.Slices {
		for i := range s.Endpoints {
			e := &s.Endpoints[i]
			e.Ready, e.Serving, e.Terminating = true, true, false
		}
	}
	if cmp.Equal(synth.Build(fat, cfg), synth.Build(unconditioned, cfg), netipValues, ignoreChanged) {
		t.Error("dropping the endpoint conditions changes nothing: the fixture does not exercise them")
	}
	if got, want := lean.Slices[0].TriggerTime, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !got.Equal(want) {
		t.Errorf("last-change-trigger-time = %v, want %v: the programming latency metric needs it", got, want)
	}
	if lean.Nodes[0].Spec.Taints == nil {
		t.Error("the Node's taints were dropped; they drain the health check")
	}

	for _, c := range []struct {
		kind       string
		fat, lean  any
		maxPercent int
	}{
		{"Service", fat.Services[0], lean.Services[0], 60},
		{"EndpointSlice", fat.EndpointSlices[0], cachedFields(t, fat.EndpointSlices[0]), 60},
		{"Node", fat.Nodes[0], lean.Nodes[0], 60},
	} {
		f, l := jsonSize(t, c.fat), jsonSize(t, c.lean)
		t.Logf("%s: %d bytes of JSON, %d after the transform (%d saved)", c.kind, f, l, f-l)
		if l*100 > f*c.maxPercent {
			t.Errorf("%s: %d bytes after the transform, more than %d%% of %d", c.kind, l, c.maxPercent, f)
		}
	}
}

// TestLeanServiceSharesValues: two Services decoded apart share their
// enumerated values, namespace and family list once cached, and each its
// ClusterIP between its two fields; the values are unchanged.
func TestLeanServiceSharesValues(t *testing.T) {
	decoded := func(name, ip string) *corev1.Service {
		s := fatService(name, ip, "", nil)
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
		s.Spec.InternalTrafficPolicy = ptr.To(corev1.ServiceInternalTrafficPolicyCluster)
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		out := &corev1.Service{}
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := decoded("a", "10.96.0.1"), decoded("b", "10.96.0.2")
	want := a.Spec.DeepCopy()
	leanService(a)
	leanService(b)
	same := func(x, y string) bool { return unsafe.StringData(x) == unsafe.StringData(y) }
	for _, c := range []struct {
		field string
		x, y  string
	}{
		{"namespace", a.Namespace, b.Namespace},
		{"type", string(a.Spec.Type), string(b.Spec.Type)},
		{"session affinity", string(a.Spec.SessionAffinity), string(b.Spec.SessionAffinity)},
		{"external policy", string(a.Spec.ExternalTrafficPolicy), string(b.Spec.ExternalTrafficPolicy)},
		{"protocol", string(a.Spec.Ports[0].Protocol), string(b.Spec.Ports[0].Protocol)},
	} {
		if !same(c.x, c.y) {
			t.Errorf("%s not shared", c.field)
		}
	}
	if a.Spec.IPFamilyPolicy != b.Spec.IPFamilyPolicy || a.Spec.InternalTrafficPolicy != b.Spec.InternalTrafficPolicy {
		t.Error("policy pointers not shared")
	}
	if &a.Spec.IPFamilies[0] != &b.Spec.IPFamilies[0] {
		t.Error("family lists not shared")
	}
	if !same(a.Spec.ClusterIP, a.Spec.ClusterIPs[0]) {
		t.Error("ClusterIP and ClusterIPs[0] not shared")
	}
	want.Selector = nil
	if diff := cmp.Diff(want, &a.Spec); diff != "" {
		t.Errorf("spec changed (-decoded +cached):\n%s", diff)
	}
}

// TestLeanObjectPassesOthers: tombstones and unknown kinds are left alone.
func TestLeanObjectPassesOthers(t *testing.T) {
	tomb := cacheTombstone()
	if got, err := leanObject(tomb); err != nil || got != tomb {
		t.Errorf("leanObject(tombstone) = %v, %v", got, err)
	}
}

func cacheTombstone() any {
	return cache.DeletedFinalStateUnknown{Key: "shop/web", Obj: fatService("web", "10.96.0.10", "", nil)}
}

// cachedFields is what a cachedSlice holds, with its fields exported so
// that its JSON shows them.
func cachedFields(t *testing.T, s *discoveryv1.EndpointSlice) any {
	t.Helper()
	obj, _ := leanObject(s.DeepCopy())
	c := obj.(*cachedSlice)
	return struct {
		Meta    metav1.ObjectMeta
		Compact synth.EndpointSlice
	}{c.ObjectMeta, c.compact}
}

// TestCacheSliceSharesNodeNames: endpoints of different slices on one
// node share one copy of its name, and keep what they said.
func TestCacheSliceSharesNodeNames(t *testing.T) {
	a, _ := leanObject(drainingSlice("a-1", "a"))
	b, _ := leanObject(drainingSlice("b-1", "b"))
	ea, eb := a.(*cachedSlice).compact.Endpoints, b.(*cachedSlice).compact.Endpoints
	if unsafe.StringData(ea[0].NodeName) != unsafe.StringData(eb[0].NodeName) || ea[0].NodeName != "node-1" {
		t.Errorf("node-1 of two slices: %q and %q in two copies, want one shared name", ea[0].NodeName, eb[0].NodeName)
	}
	want := []synth.SliceEndpoint{
		{Addr: netip.MustParseAddr("10.244.1.5"), NodeName: "node-1", Ready: false, Serving: true, Terminating: true},
		{Addr: netip.MustParseAddr("10.244.2.5"), NodeName: "node-2", Ready: false, Serving: false, Terminating: true},
		{Addr: netip.MustParseAddr("10.244.3.5"), NodeName: "node-3", Ready: false, Serving: true, Terminating: true},
	}
	if diff := cmp.Diff(want, ea, netipValues, cmpopts.IgnoreFields(synth.SliceEndpoint{}, "Hints")); diff != "" {
		t.Errorf("cached endpoints (-want +got):\n%s", diff)
	}
	if ea[0].Hints == nil {
		t.Error("the hints were dropped; topology-aware routing reads them")
	}
	if got := a.(*cachedSlice).Labels; got != nil {
		t.Errorf("labels kept = %v, want none (the service name is in the compact slice)", got)
	}
}

// TestInternTableForgets: the table gives one copy per name and starts
// afresh when full, so names of departed nodes do not accumulate.
func TestInternTableForgets(t *testing.T) {
	tab := internTable{max: 2}
	first := tab.shared(string([]byte("n1")))
	if unsafe.StringData(tab.shared(string([]byte("n1")))) != unsafe.StringData(first) {
		t.Fatal("the same name got two copies")
	}
	tab.shared("n2")
	tab.shared("n3") // full: forgets n1 and n2
	if len(tab.strings) != 1 {
		t.Errorf("%d names held after reaching the maximum, want 1", len(tab.strings))
	}
	if again := tab.shared(string([]byte("n1"))); unsafe.StringData(again) == unsafe.StringData(first) || again != "n1" {
		t.Errorf("n1 after a reset = %q at the old copy, want a new copy of the same name", again)
	}
}

// TestLeanObjectsSinceDropsOldTriggers: a trigger time from before the
// source started is not cached (the agent would ignore it), a later one
// is, for the programming latency metric.
func TestLeanObjectsSinceDropsOldTriggers(t *testing.T) {
	since := time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC) // fatSlice's trigger is a second earlier
	lean := leanObjectsSince(since)
	old, _ := lean(fatSlice("old-1", "old"))
	if got := old.(*cachedSlice).compact.TriggerTime; !got.IsZero() {
		t.Errorf("trigger time of a slice triggered before the start = %v, want none", got)
	}
	s := fatSlice("new-1", "new")
	s.Annotations[corev1.EndpointsLastChangeTriggerTime] = "2026-01-02T03:04:06.5Z"
	fresh, _ := lean(s)
	if got, want := fresh.(*cachedSlice).compact.TriggerTime, time.Date(2026, 1, 2, 3, 4, 6, 5e8, time.UTC); !got.Equal(want) {
		t.Errorf("trigger time of a change after the start = %v, want %v", got, want)
	}
	if got := fresh.(*cachedSlice).compact.ServiceName; got != "new" {
		t.Errorf("service name = %q: the slice was not made compact as well", got)
	}
}
