package kubeclienttest

import (
	"context"
	"fmt"
	"time"

	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/svcnat/svcnat/agent/kubeclient"
)

// Clientset adapts cs to the agent's client.
type Clientset struct{ kubernetes.Interface }

// listWatchFuncs are one resource's list and watch through the typed
// clients.
type listWatchFuncs struct {
	list  func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// typed is a typed client's List and Watch.
func typed[L runtime.Object](list func(context.Context, metav1.ListOptions) (L, error), w func(context.Context, metav1.ListOptions) (watch.Interface, error)) listWatchFuncs {
	return listWatchFuncs{func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) { return list(ctx, o) }, w}
}

func (c Clientset) funcs(resource string) (listWatchFuncs, bool) {
	all := metav1.NamespaceAll
	switch resource {
	case kubeclient.Services:
		r := c.CoreV1().Services(all)
		return typed(r.List, r.Watch), true
	case kubeclient.Nodes:
		r := c.CoreV1().Nodes()
		return typed(r.List, r.Watch), true
	case kubeclient.EndpointSlices:
		r := c.DiscoveryV1().EndpointSlices(all)
		return typed(r.List, r.Watch), true
	case kubeclient.ServiceCIDRs:
		r := c.NetworkingV1().ServiceCIDRs()
		return typed(r.List, r.Watch), true
	}
	return listWatchFuncs{}, false
}

// ListWatch lists and watches resource through the typed clients.
func (c Clientset) ListWatch(resource string, tweak func(*metav1.ListOptions)) (cache.ListerWatcher, error) {
	f, ok := c.funcs(resource)
	if !ok {
		return nil, fmt.Errorf("no resource %q", resource)
	}
	if tweak == nil {
		tweak = func(*metav1.ListOptions) {}
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			tweak(&o)
			return f.list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			tweak(&o)
			return f.watch(ctx, o)
		},
	}
	// The fake clientset cannot stream an initial list (WatchList, on by
	// default in client-go): passing it on lets the reflector list instead
	// of waiting for a bookmark that never comes.
	return cache.ToListWatcherWithWatchListSemantics(lw, c.Interface), nil
}

// ServesServiceCIDRs asks the clientset's discovery.
func (c Clientset) ServesServiceCIDRs(ctx context.Context) (bool, error) {
	disco := discovery.ToDiscoveryInterfaceWithContext(c.Discovery())
	list, err := disco.ServerResourcesForGroupVersionWithContext(ctx, networkingv1.SchemeGroupVersion.String())
	if err != nil {
		return false, err
	}
	return kubeclient.ListsServiceCIDRs(list), nil
}

// Ready asks /readyz through the discovery client's REST client; a
// clientset without one (the fake) is always ready.
func (c Clientset) Ready(ctx context.Context, serverTimeout time.Duration) error {
	rc := c.Discovery().RESTClient()
	if rc == nil {
		return nil
	}
	return rc.Get().AbsPath("/readyz").Timeout(serverTimeout).MaxRetries(0).Do(ctx).Error()
}

// CreateEvent creates ev through the events/v1 client.
func (c Clientset) CreateEvent(ctx context.Context, ev *eventsv1.Event) error {
	_, err := c.EventsV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}
