package source

import (
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/svcnat/svcnat/synth"
)

// What the agent reads of metadata, beyond names and times. Every other
// label and annotation is dropped from the informer caches: on a large
// cluster they (with managed fields) are most of an object's size, and
// every node's agent holds every Service and EndpointSlice.
var (
	// serviceLabels are the kube-proxy filters (also applied in Snapshot).
	serviceLabels = []string{synth.ProxyNameLabel, synth.HeadlessLabel}
	// serviceAnnotations: synth disables topology hints by topology-mode.
	serviceAnnotations = []string{"service.kubernetes.io/topology-mode"}
	// proxyLabels are the kube-proxy filters an EndpointSlice's cache entry
	// keeps (synth.EndpointSlice has the service-name label and the trigger
	// time annotation).
	proxyLabels = []string{synth.ProxyNameLabel, synth.HeadlessLabel}
	// nodeLabels: synth takes the node's zone from its Node object.
	nodeLabels = []string{corev1.LabelTopologyZone}
)

// leanObject is the informers' cache.TransformFunc: it keeps of each
// object only what synth and the agent read. EndpointSlices become
// cachedSlices. Objects it does not know pass unchanged (ServiceCIDRs are
// small), as do tombstones.
func leanObject(obj any) (any, error) {
	return leanObjectsSince(time.Time{})(obj)
}

// leanObjectsSince is leanObject that also drops an EndpointSlice's
// last-change-trigger-time when it is before since (the source's start).
// The agent, like kube-proxy, ignores trigger times from before it
// started: they measure the proxy's downtime, not the programming.
func leanObjectsSince(since time.Time) cache.TransformFunc {
	return func(obj any) (any, error) {
		switch o := obj.(type) {
		case *corev1.Service:
			leanService(o)
		case *discoveryv1.EndpointSlice:
			return cacheSlice(o, since), nil
		case *corev1.Node:
			leanNode(o)
		}
		return obj, nil
	}
}

var _ cache.TransformFunc = leanObject

// cachedSlice is an EndpointSlice as the informer caches keep it: the
// metadata client-go and the view read (names, UID, resourceVersion; the
// kube-proxy filter labels, which the list's selector already excludes)
// and synth's compact form. At 10k Services × 10 endpoints the decoded
// slices were the largest part of the agent's heap: ≈ 2.5 KB each, now
// ≈ 1.4 KB (BenchmarkLeanSlicesHeap).
type cachedSlice struct {
	metav1.ObjectMeta
	compact synth.EndpointSlice
}

// cacheSlice makes s's cachedSlice. Endpoints on the same node share
// one copy of its name.
func cacheSlice(s *discoveryv1.EndpointSlice, since time.Time) *cachedSlice {
	c := &cachedSlice{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID,
			ResourceVersion: s.ResourceVersion, Labels: keepKeys(s.Labels, proxyLabels)},
		compact: *synth.SliceOf(s),
	}
	if c.compact.TriggerTime.Before(since) {
		c.compact.TriggerTime = time.Time{}
	}
	for i := range c.compact.Endpoints {
		ep := &c.compact.Endpoints[i]
		ep.NodeName = nodeNames.shared(ep.NodeName)
	}
	return c
}

// sliceStore reads an informer cache of cachedSlices.
type sliceStore struct{ cache cache.Store }

// list returns every cached slice, in no particular order.
func (s sliceStore) list() []*cachedSlice {
	objs := s.cache.List()
	out := make([]*cachedSlice, 0, len(objs))
	for _, o := range objs {
		if c, ok := o.(*cachedSlice); ok {
			out = append(out, c)
		}
	}
	return out
}

// get returns the cached slice namespace/name.
func (s sliceStore) get(namespace, name string) (*cachedSlice, bool) {
	o, ok, err := s.cache.GetByKey(namespace + "/" + name)
	c, isSlice := o.(*cachedSlice)
	return c, ok && err == nil && isSlice
}

// slice returns the compact form synth reads; the pointer is the same for
// as long as the cachedSlice lives (synth.Builder tells slices apart by it).
func (c *cachedSlice) slice() *synth.EndpointSlice { return &c.compact }

// leanService drops the selector (EndpointSlices say which pods back a
// Service) and the status conditions; load-balancer ingress IPs are kept.
// The decoder gives every Service its own copy of each enumerated value
// (type, policies, protocols, families) and of its first ClusterIP twice:
// those are shared instead, ≈ 200 bytes a Service.
func leanService(svc *corev1.Service) {
	leanMeta(&svc.ObjectMeta, serviceLabels, serviceAnnotations)
	svc.Namespace = namespaces.shared(svc.Namespace)
	sp := &svc.Spec
	sp.Selector = nil
	sp.Type = corev1.ServiceType(enumValues.shared(string(sp.Type)))
	sp.SessionAffinity = corev1.ServiceAffinity(enumValues.shared(string(sp.SessionAffinity)))
	sp.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicy(enumValues.shared(string(sp.ExternalTrafficPolicy)))
	sp.InternalTrafficPolicy = sharedPointer(sp.InternalTrafficPolicy, internalPolicies)
	sp.IPFamilyPolicy = sharedPointer(sp.IPFamilyPolicy, familyPolicies)
	if len(sp.ClusterIPs) > 0 && sp.ClusterIPs[0] == sp.ClusterIP {
		sp.ClusterIPs[0] = sp.ClusterIP
	}
	for _, families := range singleFamilies {
		if slices.Equal(sp.IPFamilies, families) {
			sp.IPFamilies = families
		}
	}
	for i := range sp.Ports {
		sp.Ports[i].Protocol = corev1.Protocol(enumValues.shared(string(sp.Ports[i].Protocol)))
	}
	svc.Status = corev1.ServiceStatus{LoadBalancer: svc.Status.LoadBalancer}
}

// Shared values of cached Services (read only, as every cached object).
var (
	namespaces = internTable{max: 1 << 14}
	// enumValues holds the few values of the Services' enumerated fields.
	enumValues       = internTable{max: 64}
	internalPolicies = []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}
	familyPolicies   = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicySingleStack, corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack}
	singleFamilies   = [][]corev1.IPFamily{{corev1.IPv4Protocol}, {corev1.IPv6Protocol}}
)

// sharedPointer returns a pointer to the element of known equal to *p,
// p itself when there is none.
func sharedPointer[T comparable](p *T, known []T) *T {
	if p == nil {
		return nil
	}
	for i := range known {
		if known[i] == *p {
			return &known[i]
		}
	}
	return p
}

// Cached objects are read only (client-go's rule), so endpoints can share
// one copy of each node name instead of a string per endpoint.
var nodeNames = internTable{max: 1 << 14}

// internTable hands out one copy of each distinct string. It forgets
// everything when it reaches max entries, so that names of nodes long gone
// do not pile up; sharing is only a saving, never needed.
type internTable struct {
	mu      sync.Mutex
	max     int
	strings map[string]string
}

func (t *internTable) shared(s string) string {
	if s == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.strings[s]; ok {
		return q
	}
	if t.strings == nil || len(t.strings) >= t.max {
		t.strings = map[string]string{}
	}
	t.strings[s] = s
	return s
}

// leanNode keeps the spec (pod CIDRs; taints, which drain the node's
// health check) and of the status only the addresses: images, conditions
// and volumes are large and change often.
func leanNode(n *corev1.Node) {
	leanMeta(&n.ObjectMeta, nodeLabels, nil)
	n.Status = corev1.NodeStatus{Addresses: n.Status.Addresses}
}

// leanMeta keeps identity, versions and times (the informers compare
// resource versions; synth orders Services by creation time; a Node being
// deleted is drained) and the listed labels and annotations.
func leanMeta(m *metav1.ObjectMeta, labels, annotations []string) {
	*m = metav1.ObjectMeta{
		Name:              m.Name,
		Namespace:         m.Namespace,
		UID:               m.UID,
		ResourceVersion:   m.ResourceVersion,
		Generation:        m.Generation,
		CreationTimestamp: m.CreationTimestamp,
		DeletionTimestamp: m.DeletionTimestamp,
		Labels:            keepKeys(m.Labels, labels),
		Annotations:       keepKeys(m.Annotations, annotations),
	}
}

// keepKeys returns the entries of in whose keys are listed, nil when none.
func keepKeys(in map[string]string, keys []string) map[string]string {
	var out map[string]string
	for _, k := range keys {
		if v, ok := in[k]; ok {
			if out == nil {
				out = make(map[string]string, len(keys))
			}
			out[k] = v
		}
	}
	return out
}
