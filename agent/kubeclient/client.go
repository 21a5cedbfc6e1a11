package kubeclient

import (
	"context"
	"fmt"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/flowcontrol"
)

// Client holds one REST client per API group, all sharing one HTTP
// client and one rate limiter (as the generated clientset does).
type Client struct {
	core, discovery, networking, events *rest.RESTClient
}

// The scheme knows only the groups the agent uses: decoding anything else
// fails, which is what a narrow client wants.
var (
	scheme = runtime.NewScheme()
	codecs = serializer.NewCodecFactory(scheme)
)

func init() {
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, discoveryv1.AddToScheme, networkingv1.AddToScheme, eventsv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err) // generated registration of fixed types
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
}

// New returns a client for rc (its QPS, burst, user agent and content
// types apply to every group). The rate limit (clientConnection.qps and
// burst) counts a paged list once, as the one LIST kube-proxy sends
// (ListWatch).
func New(rc *rest.Config) (*Client, error) {
	cfg := *rc
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("API client: burst must be above 0 when QPS is set")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	c := &Client{}
	for _, g := range []struct {
		into    **rest.RESTClient
		gv      schema.GroupVersion
		apiPath string
	}{
		{&c.core, corev1.SchemeGroupVersion, "/api"},
		{&c.discovery, discoveryv1.SchemeGroupVersion, "/apis"},
		{&c.networking, networkingv1.SchemeGroupVersion, "/apis"},
		{&c.events, eventsv1.SchemeGroupVersion, "/apis"},
	} {
		if *g.into, err = groupClient(cfg, httpClient, g.gv, g.apiPath); err != nil {
			return nil, fmt.Errorf("API client for %s: %w", g.gv, err)
		}
	}
	return c, nil
}

func groupClient(cfg rest.Config, hc *http.Client, gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
	cfg.GroupVersion = &gv
	cfg.APIPath = apiPath
	cfg.NegotiatedSerializer = codecs.WithoutConversion()
	return rest.RESTClientForConfigAndClient(&cfg, hc)
}

// The resources the agent lists and watches, by their plural name (as in
// the URL).
const (
	Services       = "services"
	Nodes          = "nodes"
	EndpointSlices = "endpointslices"
	ServiceCIDRs   = "servicecidrs"
)

// ListWatch lists and watches resource in every namespace, with tweak
// applied to every request's options (label and field selectors). A
// list's first page waits for the client's rate limit, as every other
// request but a watch does (client-go never throttles watches); the pages
// that continue a list do not.
//
// Why: the limit (kube-proxy's defaults: 5 a second after a burst of 10)
// is meant for requests as kube-proxy makes them, and kube-proxy lists
// each kind in one request. The agent's informers list in pages
// (source.pagedLister), and with every page counted, a node rebooted at
// 10k Services (8 nodes under churn) waited 120–190 ms before each of
// its EndpointSlices' third to fifth page: ≈ 0.45 s of its 0.92 s list.
// The API server's own priority and fairness still applies to each page.
func (c *Client) ListWatch(resource string, tweak func(*metav1.ListOptions)) (cache.ListerWatcher, error) {
	group := map[string]*rest.RESTClient{
		Services: c.core, Nodes: c.core, EndpointSlices: c.discovery, ServiceCIDRs: c.networking,
	}[resource]
	if group == nil {
		return nil, fmt.Errorf("API client: no resource %q", resource)
	}
	if tweak == nil {
		tweak = func(*metav1.ListOptions) {}
	}
	return &listWatch{
		limited: cache.NewFilteredListWatchFromClient(group, resource, metav1.NamespaceAll, tweak),
		pages:   cache.NewFilteredListWatchFromClient(unthrottled{group}, resource, metav1.NamespaceAll, tweak),
	}, nil
}

// unthrottled makes requests of c that skip c's rate limit.
type unthrottled struct{ c *rest.RESTClient }

func (u unthrottled) Get() *rest.Request { return u.c.Get().Throttle(noRateLimit) }

var noRateLimit = flowcontrol.NewFakeAlwaysRateLimiter()

// listWatch sends a list's continuation pages through pages, and every
// other request through limited.
type listWatch struct {
	limited, pages *cache.ListWatch
}

var _ cache.ListerWatcherWithContext = (*listWatch)(nil)

func (l *listWatch) ListWithContext(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
	if options.Continue != "" {
		return l.pages.ListWithContext(ctx, options)
	}
	return l.limited.ListWithContext(ctx, options)
}

func (l *listWatch) WatchWithContext(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
	return l.limited.WatchWithContext(ctx, options)
}

func (l *listWatch) List(options metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), options)
}

func (l *listWatch) Watch(options metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), options)
}

// ServesServiceCIDRs asks discovery whether the API serves ServiceCIDRs
// (GA in Kubernetes 1.33). The request honours ctx.
func (c *Client) ServesServiceCIDRs(ctx context.Context) (bool, error) {
	list := &metav1.APIResourceList{}
	err := c.networking.Get().AbsPath("/apis", networkingv1.SchemeGroupVersion.Group, networkingv1.SchemeGroupVersion.Version).
		Do(ctx).Into(list)
	if err != nil {
		return false, err
	}
	return ListsServiceCIDRs(list), nil
}

// ListsServiceCIDRs tells whether networking/v1's discovery document
// lists ServiceCIDRs.
func ListsServiceCIDRs(list *metav1.APIResourceList) bool {
	for _, r := range list.APIResources {
		if r.Name == ServiceCIDRs {
			return true
		}
	}
	return false
}

// Ready asks the API server whether it is ready (GET /readyz), asking it
// to answer within serverTimeout and without retrying: a refused
// connection is the answer.
func (c *Client) Ready(ctx context.Context, serverTimeout time.Duration) error {
	return c.core.Get().AbsPath("/readyz").Timeout(serverTimeout).MaxRetries(0).Do(ctx).Error()
}

// CreateEvent writes ev (in its namespace).
func (c *Client) CreateEvent(ctx context.Context, ev *eventsv1.Event) error {
	return c.events.Post().Namespace(ev.Namespace).Resource("events").Body(ev).Do(ctx).Error()
}
