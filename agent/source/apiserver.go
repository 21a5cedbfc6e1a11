package source

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/svcnat/svcnat/agent/kubeclient"
)

// The labels kube-proxy filters on: Services handled by another proxy, and
// the EndpointSlices of headless Services (which no proxy programs).
const (
	LabelServiceProxyName = "service.kubernetes.io/service-proxy-name"
	LabelHeadless         = "service.kubernetes.io/headless"
)

// Client is what the source needs of the API server: *kubeclient.Client,
// or in tests a fake clientset behind kubeclienttest's adapter.
type Client interface {
	// ListWatch lists and watches a resource (kubeclient.Services, …) in
	// every namespace with tweak applied to each request's options.
	ListWatch(resource string, tweak func(*metav1.ListOptions)) (cache.ListerWatcher, error)
	// ServesServiceCIDRs tells whether the API serves ServiceCIDRs.
	ServesServiceCIDRs(ctx context.Context) (bool, error)
	// Ready probes the API server's readiness once, asking it to answer
	// within serverTimeout; nil means ready.
	Ready(ctx context.Context, serverTimeout time.Duration) error
}

// APIServer is a Source watching the Kubernetes API.
type APIServer struct {
	client   Client
	nodeName string
	synced   chan struct{}
	// created is when the source was made, before the agent starts:
	// older trigger times are not cached (leanObjectsSince).
	created time.Time
	// listers are those of the informer set Snapshot reads: set by Run
	// before synced is closed, swapped when the informers are restarted.
	listers atomic.Pointer[listers]
	// probeEvery is how often Run asks whether the API server is ready,
	// to restart the informers after an outage; 0 disables that.
	probeEvery time.Duration
	// notReadyRelist is how long the API server must have been unready
	// before a relist is considered (the constant; tests shorten it).
	notReadyRelist time.Duration
	// view is what Snapshot returns of Services and EndpointSlices, kept
	// by the serving set's events.
	view apiView
}

type listers struct {
	services corelisters.ServiceLister
	slices   sliceStore
	nodes    corelisters.NodeLister              // nil when no node is watched
	cidrs    networkinglisters.ServiceCIDRLister // nil when the API lacks ServiceCIDRs
}

// informerSet is one generation of informers, the handler registrations
// whose initial lists must be delivered before the set is synced, and its
// listers.
type informerSet struct {
	informers []cache.SharedIndexInformer
	watches   []*watchTracker // one per informer
	running   sync.WaitGroup  // the informers' Run
	synced    []cache.InformerSynced
	listers   listers
	lean      cache.TransformFunc // what its caches keep (leanObjectsSince)
	// live: the set's events reach the handler. A replacement set is not
	// live while it lists (the old set still serves Snapshot), and a
	// replaced set is not live any more.
	live atomic.Bool
	stop context.CancelFunc
	view *apiView // the view the set's events update while live
}

// NewAPIServer returns a source for the node nodeName (empty: no Node is
// watched, so node IPs must be configured).
func NewAPIServer(client Client, nodeName string) *APIServer {
	return &APIServer{client: client, nodeName: nodeName, synced: make(chan struct{}), probeEvery: probeEvery,
		notReadyRelist: notReadyRelist, created: time.Now()}
}

// Synced is closed once every informer cache has synced.
func (a *APIServer) Synced() <-chan struct{} { return a.synced }

// proxySelector selects what kube-proxy selects.
func proxySelector() string {
	noProxyName, err := labels.NewRequirement(LabelServiceProxyName, selection.DoesNotExist, nil)
	if err != nil {
		panic(err) // constant input
	}
	noHeadless, err := labels.NewRequirement(LabelHeadless, selection.DoesNotExist, nil)
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*noProxyName, *noHeadless).String()
}

// Run starts the informers, waits for their caches and notifies h until
// ctx is done. After an outage of the API server it restarts them (see
// recoverOutages).
func (a *APIServer) Run(ctx context.Context, h Handler) error {
	log := klog.FromContext(ctx)
	set, err := a.startSet(ctx, h, true)
	if err != nil {
		return err
	}
	a.listers.Store(&set.listers)
	defer func() { set.shutdown() }() // the set serving when Run ends
	if !set.waitForSync(ctx) {
		return nil // ctx done before the caches synced
	}
	log.V(1).Info("Informer caches synced")
	close(a.synced)
	a.recoverOutages(ctx, h, &set)
	return nil
}

// startSet creates and starts a set of informers. The first set is live:
// its events reach h from the start. A replacement (live false) caches
// the objects the view holds at the same version as the view's copies
// (reuseViewed), not as copies of its own.
func (a *APIServer) startSet(ctx context.Context, h Handler, live bool) (*informerSet, error) {
	setCtx, stop := context.WithCancel(ctx)
	set := &informerSet{stop: stop, view: &a.view}
	set.live.Store(live)
	set.lean = leanObjectsSince(a.created)
	if !live {
		set.lean = reuseViewed(&a.view, set.lean)
	}
	if err := a.informers(setCtx, h, set); err != nil {
		stop()
		return nil, err
	}
	for _, inf := range set.informers {
		set.running.Go(func() { inf.RunWithContext(setCtx) })
	}
	return set, nil
}

// informers creates the informers and registers h. No informer resyncs:
// the agent's periodic full sync already repairs drift, and resyncs would
// only produce no-op update events.
func (a *APIServer) informers(ctx context.Context, h Handler, set *informerSet) error {
	sel := proxySelector()
	proxied := func(o *metav1.ListOptions) { o.LabelSelector = sel }
	svc, err := set.informer(a.client, kubeclient.Services, &corev1.Service{}, proxied, h, Service)
	if err != nil {
		return err
	}
	eps, err := set.informer(a.client, kubeclient.EndpointSlices, &discoveryv1.EndpointSlice{}, proxied, h, EndpointSlice)
	if err != nil {
		return err
	}
	set.listers.services = corelisters.NewServiceLister(svc)
	set.listers.slices = sliceStore{eps}
	if a.nodeName != "" {
		byName := func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", a.nodeName).String()
		}
		nodes, err := set.informer(a.client, kubeclient.Nodes, &corev1.Node{}, byName, h, Node)
		if err != nil {
			return err
		}
		set.listers.nodes = corelisters.NewNodeLister(nodes)
	}
	if a.serviceCIDRsServed(ctx) && ctx.Err() == nil {
		cidrs, err := set.informer(a.client, kubeclient.ServiceCIDRs, &networkingv1.ServiceCIDR{}, nil, h, ServiceCIDR)
		if err != nil {
			return err
		}
		set.listers.cidrs = networkinglisters.NewServiceCIDRLister(cidrs)
	}
	return nil
}

// informer creates an informer of resource (whose objects are like
// example, of kind) with tweak applied to its requests, adds it to the set
// with h watching it (watch), and returns its cache for a lister. The
// cache has no index: the agent lists everything or gets an object by its
// key, never by namespace, and a namespace index holds a set entry per
// object (≈ 2.5 MB at 10k Services).
func (s *informerSet) informer(c Client, resource string, example runtime.Object, tweak func(*metav1.ListOptions), h Handler, kind Kind) (cache.Indexer, error) {
	lw, err := c.ListWatch(resource, tweak)
	if err != nil {
		return nil, err
	}
	tracked := newWatchTracker(newPagedLister(lw, s.lean))
	inf := cache.NewSharedIndexInformer(tracked, example, 0, cache.Indexers{})
	if err := s.watch(inf, h, kind); err != nil {
		return nil, err
	}
	s.informers = append(s.informers, inf)
	s.watches = append(s.watches, tracked)
	return inf.GetIndexer(), nil
}

// hold keeps the set's reflectors from listing or watching again until
// the set is shut down or release is called. After the API server refused
// connections every watch has ended, and the reflectors would relist on
// their own, once their backoff ends, beside the replacement set: every
// node streaming the whole cluster twice from a just restarted API server.
func (s *informerSet) hold() {
	for _, w := range s.watches {
		w.hold()
	}
}

// release undoes hold.
func (s *informerSet) release() {
	for _, w := range s.watches {
		w.release()
	}
}

// watchedSince reports whether every informer of the set has had one
// watch open since before t: nothing was missed, and no reflector sleeps
// a backoff.
func (s *informerSet) watchedSince(t time.Time) bool {
	for _, w := range s.watches {
		if !w.openSinceBefore(t) {
			return false
		}
	}
	return true
}

// waitForSync waits until every handler has seen its informer's initial
// list (which implies the caches are filled).
func (s *informerSet) waitForSync(ctx context.Context) bool {
	return cache.WaitForCacheSync(ctx.Done(), s.synced...)
}

// shutdownGrace bounds how long Run waits for the informers to stop after
// ctx is done.
const shutdownGrace = 500 * time.Millisecond

// shutdown waits for the informers, at most shutdownGrace. They were
// started with Run's ctx, so they are already told to stop; but a
// reflector whose watch was refused sleeps its backoff (up to 30 s) without
// watching ctx (client-go's Reflector.watchList), and a SIGTERM must not
// wait for that: such a goroutine ends on its own when the sleep does.
func (s *informerSet) shutdown() {
	s.stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.running.Wait()
	}()
	select {
	case <-done:
	case <-time.After(shutdownGrace):
	}
}

// serviceCIDRsServed asks discovery whether the API serves ServiceCIDRs
// (GA in Kubernetes 1.33); older servers simply do not get them watched.
// The request honours ctx: client-go retries a refused connection for
// seconds, which must not delay a shutdown.
func (a *APIServer) serviceCIDRsServed(ctx context.Context) bool {
	served, err := a.client.ServesServiceCIDRs(ctx)
	switch {
	case err != nil:
		klog.FromContext(ctx).V(1).Info("No ServiceCIDRs from the API; using configured service CIDRs", "reason", err.Error())
	case !served:
		klog.FromContext(ctx).V(1).Info("API server does not serve servicecidrs; using configured service CIDRs")
	}
	return served && err == nil
}

// watch notifies h of every real change of inf's objects while the set
// is live, and makes inf cache only what svcnat reads (leanObjectsSince).
func (s *informerSet) watch(inf cache.SharedIndexInformer, h Handler, kind Kind) error {
	if err := inf.SetTransform(s.lean); err != nil {
		return fmt.Errorf("watch %s: %w", kind, err)
	}
	changed := func(obj any, deleted bool) {
		if s.view.apply(s, kind, obj, deleted) {
			h.Changed(kind)
		}
	}
	reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { changed(obj, false) },
		UpdateFunc: func(old, new any) {
			if sameVersion(old, new) {
				return // a relist of an unchanged object
			}
			changed(new, false)
		},
		DeleteFunc: func(obj any) { changed(obj, true) },
	})
	if err != nil {
		return fmt.Errorf("watch %s: %w", kind, err)
	}
	s.synced = append(s.synced, reg.HasSynced)
	return nil
}

func sameVersion(old, new any) bool {
	o, ok1 := old.(metav1.Object)
	n, ok2 := new.(metav1.Object)
	return ok1 && ok2 && o.GetResourceVersion() != "" && o.GetResourceVersion() == n.GetResourceVersion()
}

// Snapshot returns the view of Services and EndpointSlices and reads the
// Node and ServiceCIDRs from the caches. The view applies the label filter
// again because a watch may deliver objects the list would not (fake
// clients do not filter watches, and labels can change).
func (a *APIServer) Snapshot() State {
	var st State
	l := a.listers.Load()
	if l == nil {
		return st // Run has not started
	}
	st.Input.Services, st.Input.Slices = a.view.lists()
	if l.nodes != nil {
		if node, err := l.nodes.Get(a.nodeName); err == nil {
			st.Input.Nodes = []*corev1.Node{node}
		}
	}
	if l.cidrs != nil {
		if cidrs, err := l.cidrs.List(labels.Everything()); err == nil {
			st.ServiceCIDRs = serviceCIDRs(cidrs)
		}
	}
	return st
}

func proxied(l map[string]string) bool {
	_, other := l[LabelServiceProxyName]
	_, headless := l[LabelHeadless]
	return !other && !headless
}

// serviceCIDRs collects the ranges of every ServiceCIDR, sorted and
// without duplicates. Objects being deleted still count: their ranges may
// still hold allocated ClusterIPs.
func serviceCIDRs(objs []*networkingv1.ServiceCIDR) []netip.Prefix {
	out := []netip.Prefix{}
	for _, o := range objs {
		for _, c := range o.Spec.CIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				out = append(out, p.Masked())
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return slices.Compact(out)
}
