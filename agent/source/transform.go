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
	// sliceLabels: synth joins slices to Services by service-name; the
	// other two are the kube-proxy filters.
	sliceLabels = []string{discoveryv1.LabelServiceName, synth.ProxyNameLabel, synth.HeadlessLabel}
	// sliceAnnotations: the agent's network programming latency metric.
	sliceAnnotations = []string{corev1.EndpointsLastChangeTriggerTime}
	// nodeLabels: synth takes the node's zone from its Node object.
	nodeLabels = []string{corev1.LabelTopologyZone}
)

// leanObject is the informers' cache.TransformFunc: it keeps of each
// object only what synth and the agent read. Objects it does not know
// pass unchanged (ServiceCIDRs are small), as do tombstones.
func leanObject(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Service:
		leanService(o)
	case *discoveryv1.EndpointSlice:
		leanEndpointSlice(o)
	case *corev1.Node:
		leanNode(o)
	}
	return obj, nil
}

var _ cache.TransformFunc = leanObject

// leanObjectsSince is leanObject that also drops an EndpointSlice's
// last-change-trigger-time when it is before since (the source's start).
// The agent, like kube-proxy, ignores trigger times from before it
// started: they measure the proxy's downtime, not the programming. On a
// node's start every slice has one, and dropping it spares each cached
// slice its annotation map (≈ 4 MB at 10k slices) and the agent its
// record of the time.
func leanObjectsSince(since time.Time) cache.TransformFunc {
	return func(obj any) (any, error) {
		if s, ok := obj.(*discoveryv1.EndpointSlice); ok {
			dropStaleTrigger(s, since)
		}
		return leanObject(obj)
	}
}

func dropStaleTrigger(s *discoveryv1.EndpointSlice, since time.Time) {
	v, ok := s.Annotations[corev1.EndpointsLastChangeTriggerTime]
	if !ok {
		return
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil && t.Before(since) {
		delete(s.Annotations, corev1.EndpointsLastChangeTriggerTime)
	}
}

// leanService drops the selector (EndpointSlices say which pods back a
// Service) and the status conditions; load-balancer ingress IPs are kept.
func leanService(svc *corev1.Service) {
	leanMeta(&svc.ObjectMeta, serviceLabels, serviceAnnotations)
	svc.Spec.Selector = nil
	svc.Status = corev1.ServiceStatus{LoadBalancer: svc.Status.LoadBalancer}
}

// leanEndpointSlice drops each endpoint's targetRef, hostname, zone and
// deprecated topology (no proxy routes by them; synth takes the node's
// zone from its Node) and its addresses but the first (the only one a
// proxy uses), shares the node names and conditions between endpoints,
// and gives the endpoint list its exact length. At 10k Services × 10
// endpoints the endpoints are most of the informer caches.
func leanEndpointSlice(s *discoveryv1.EndpointSlice) {
	leanMeta(&s.ObjectMeta, sliceLabels, sliceAnnotations)
	for i := range s.Endpoints {
		leanEndpoint(&s.Endpoints[i])
	}
	if cap(s.Endpoints) > len(s.Endpoints) {
		s.Endpoints = slices.Clone(s.Endpoints)
	}
}

func leanEndpoint(ep *discoveryv1.Endpoint) {
	ep.TargetRef, ep.Hostname, ep.DeprecatedTopology, ep.Zone = nil, nil, nil, nil
	if len(ep.Addresses) > 1 {
		ep.Addresses = ep.Addresses[:1:1]
	}
	ep.NodeName = nodeNames.shared(ep.NodeName)
	c := &ep.Conditions
	c.Ready, c.Serving, c.Terminating = sharedBool(c.Ready), sharedBool(c.Serving), sharedBool(c.Terminating)
}

// Cached objects are read only (client-go's rule), so endpoints can point
// at the same values: one condition value and one node name each instead
// of an allocation per endpoint.
var (
	trueValue, falseValue = true, false
	nodeNames             = internTable{max: 1 << 14}
)

func sharedBool(p *bool) *bool {
	switch {
	case p == nil:
		return nil
	case *p:
		return &trueValue
	}
	return &falseValue
}

// internTable hands out one pointer per distinct string. It forgets
// everything when it reaches max entries, so that names of nodes long gone
// do not pile up; sharing is only a saving, never needed.
type internTable struct {
	mu      sync.Mutex
	max     int
	strings map[string]*string
}

func (t *internTable) shared(p *string) *string {
	if p == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if q, ok := t.strings[*p]; ok {
		return q
	}
	if t.strings == nil || len(t.strings) >= t.max {
		t.strings = map[string]*string{}
	}
	t.strings[*p] = p
	return p
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
