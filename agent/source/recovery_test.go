package source

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"

	"github.com/svcnat/svcnat/agent/kubeclient/kubeclienttest"
)

// restartableAPI is a fake API server that can be stopped and started
// again. Objects live in a fake clientset whose reactors refuse every
// list and watch while it is down (connection refused, which client-go's
// reflectors retry with backoff) and, once it is back, refuse watches that
// resume from a resource version handed out before ("too old resource
// version": a restarted API server's watch cache has no history). Its
// /readyz is a real HTTP listener on loopback that is closed while down.
type restartableAPI struct {
	*fake.Clientset
	disco discovery.DiscoveryInterfaces
	addr  string

	mu    sync.Mutex
	up    bool
	epoch int // resource version of every list since the last start
	// notReady makes /readyz answer 500 while lists and watches go on,
	// as while etcd restarts under a running API server.
	notReady bool
	lists    int // list calls answered
	refused  int // list and watch calls refused while down
	// listDelay makes lists take time, as a large cluster's do: a
	// partial cache would be visible meanwhile.
	listDelay time.Duration
	watches   []watch.Interface
	srv       *http.Server
}

func newRestartableAPI(t *testing.T, objs ...runtime.Object) *restartableAPI {
	t.Helper()
	api := &restartableAPI{Clientset: fake.NewClientset(objs...), addr: closedPort(t)}
	api.PrependReactor("list", "*", api.list)
	api.PrependWatchReactor("*", api.watch)
	disco, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: "http://" + api.addr})
	if err != nil {
		t.Fatal(err)
	}
	api.disco = disco
	api.start(t)
	t.Cleanup(func() { api.stop() })
	return api
}

func (api *restartableAPI) Discovery() discovery.DiscoveryInterfaces { return api.disco }

var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

func (api *restartableAPI) list(action k8stesting.Action) (bool, runtime.Object, error) {
	api.mu.Lock()
	up, epoch, delay := api.up, api.epoch, api.listDelay
	if !up {
		api.refused++
	}
	api.mu.Unlock()
	if !up {
		return true, nil, errRefused
	}
	time.Sleep(delay)
	api.mu.Lock()
	api.lists++
	api.mu.Unlock()
	handled, obj, err := k8stesting.ObjectReaction(api.Tracker())(action)
	if err == nil && obj != nil {
		if l, lerr := meta.ListAccessor(obj); lerr == nil {
			l.SetResourceVersion(strconv.Itoa(epoch))
		}
	}
	return handled, obj, err
}

func (api *restartableAPI) watch(action k8stesting.Action) (bool, watch.Interface, error) {
	api.mu.Lock()
	defer api.mu.Unlock()
	if !api.up {
		api.refused++
		return true, nil, errRefused
	}
	rv := action.(k8stesting.WatchAction).GetWatchRestrictions().ResourceVersion
	if rv != "" && rv != "0" && rv != strconv.Itoa(api.epoch) {
		return true, nil, apierrors.NewResourceExpired("too old resource version: " + rv)
	}
	w, err := api.Tracker().Watch(action.GetResource(), action.GetNamespace())
	if err == nil {
		api.watches = append(api.watches, w)
	}
	return true, w, err
}

// start brings the API server (back) up with a new watch cache.
func (api *restartableAPI) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after stop
		if ln, err = net.Listen("tcp", api.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		api.mu.Lock()
		notReady := api.notReady
		api.mu.Unlock()
		if notReady {
			http.Error(w, "[-]etcd failed", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	api.mu.Lock()
	defer api.mu.Unlock()
	api.srv = &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	go api.srv.Serve(ln)
	api.up = true
	api.epoch++
}

// stop takes the API server down: connections are refused and every
// watch ends.
func (api *restartableAPI) stop() {
	api.mu.Lock()
	defer api.mu.Unlock()
	api.up = false
	for _, w := range api.watches {
		w.Stop()
	}
	api.watches = nil
	if api.srv != nil {
		api.srv.Close()
		api.srv = nil
	}
}

// snapshotChecker is a Handler that, like the agent, takes a Snapshot on
// every notification once the source is synced, and remembers the first
// one that lacks want.
type snapshotChecker struct {
	recorder
	src  *APIServer
	want []string

	mu  sync.Mutex
	bad []string
}

func (c *snapshotChecker) Changed(k Kind) {
	c.recorder.Changed(k)
	c.check()
}

func (c *snapshotChecker) check() {
	select {
	case <-c.src.Synced():
	default:
		return // the initial lists are still arriving
	}
	got := names(c.src.Snapshot())
	for _, w := range c.want {
		if !slices.Contains(got, w) {
			c.mu.Lock()
			if c.bad == nil {
				c.bad = got
			}
			c.mu.Unlock()
			return
		}
	}
}

// TestAPIServerOutage: after the API server was down for several seconds
// a change made as soon as it is back reaches the handler within 5 s (the
// reflectors alone would wait out their backoff), nobody ever sees a
// snapshot without the objects that existed all along, and those objects
// keep their pointers across the relist (synth.Builder then rebuilds
// nothing for them).
func TestAPIServerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a simulated outage")
	}
	web, web1 := svcObj("web", nil), sliceObj("web-1", map[string]string{discoveryv1.LabelServiceName: "web"})
	web.UID, web.ResourceVersion = "uid-web", "7"
	web1.UID, web1.ResourceVersion = "uid-web-1", "8"
	api := newRestartableAPI(t, web, web1, nodeObj("node-1"))
	a := NewAPIServer(kubeclienttest.Clientset{Interface: api}, "node-1")
	h := &snapshotChecker{src: a, want: []string{"svc/web", "eps/web-1", "node/node-1"}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Error("Run did not end within 2 s of its context")
		}
	}()
	select {
	case <-a.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("caches did not sync")
	}

	// Snapshots are also taken between notifications (the agent's
	// periodic sync does), throughout the outage and the recovery.
	pollCtx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for pollCtx.Err() == nil {
			h.check()
			time.Sleep(5 * time.Millisecond)
		}
	}()

	before, servedBefore := a.Snapshot().Input, a.listers.Load()
	api.mu.Lock()
	api.listDelay = 300 * time.Millisecond
	api.mu.Unlock()
	api.stop()
	time.Sleep(3*probeEvery + time.Second)
	api.start(t)
	back := time.Now()
	h.take()
	if _, err := api.CoreV1().Services("prod").Create(ctx, svcObj("db", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const bound = 5 * time.Second
	for !slices.Contains(names(a.Snapshot()), "svc/db") {
		if time.Since(back) > bound {
			t.Fatalf("the change made when the API server came back was not taken within %v", bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("change taken %v after the API server came back", time.Since(back).Round(time.Millisecond))
	after := a.Snapshot().Input
	if i := slices.Index(after.Services, before.Services[0]); i < 0 {
		t.Errorf("Service %s is a new object after the relist, though its resourceVersion did not change", web.Name)
	}
	if after.Slices[0] != before.Slices[0] {
		t.Errorf("EndpointSlice %s is a new object after the relist, though its resourceVersion did not change", web1.Name)
	}
	// The new informers' caches hold those same objects, not copies. (The
	// change may have come through the old informers, whose reflectors
	// can relist on their own into copies: wait for the new set.)
	for a.listers.Load() == servedBefore {
		if time.Since(back) > bound {
			t.Fatalf("the informers were not restarted within %v of the API server coming back", bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	l := a.listers.Load()
	if got, err := l.services.Services(web.Namespace).Get(web.Name); err != nil || got != before.Services[0] {
		t.Errorf("the relisted cache holds a copy of Service %s (err %v), not the object served before", web.Name, err)
	}
	if got, ok := l.slices.get(web1.Namespace, web1.Name); !ok || got.slice() != before.Slices[0] {
		t.Errorf("the relisted cache holds a copy of EndpointSlice %s (found %v), not the object served before", web1.Name, ok)
	}
	stopPolling()
	<-polled
	if kinds, _ := h.take(); !slices.Contains(kinds, Service) {
		t.Errorf("no Service notification after the recovery: %v", kinds)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.bad != nil {
		t.Errorf("a snapshot lacked objects that existed all along: %v", h.bad)
	}
}

// TestAPIServerNotReady: while the API server answers "not ready" (etcd
// restarting) its watches go on, so once it is ready again the informers
// are not restarted (no list), even after a spell longer than
// notReadyRelist, and changes keep arriving throughout.
func TestAPIServerNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a simulated etcd restart")
	}
	api := newRestartableAPI(t, svcObj("web", nil), nodeObj("node-1"))
	a := NewAPIServer(kubeclienttest.Clientset{Interface: api}, "node-1")
	a.notReadyRelist = 2 * probeEvery // shorter than the spell below
	h := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	defer func() { cancel(); <-done }()
	select {
	case <-a.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("caches did not sync")
	}
	api.mu.Lock()
	listsBefore := api.lists
	api.notReady = true
	api.mu.Unlock()
	time.Sleep(3*probeEvery + time.Second) // an outage the probes see
	api.mu.Lock()
	api.notReady = false
	api.mu.Unlock()
	time.Sleep(probeEvery + restartJitter + time.Second) // when a relist would have happened
	if _, err := api.CoreV1().Services("prod").Create(ctx, svcObj("db", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(names(a.Snapshot()), "svc/db") {
		if time.Now().After(deadline) {
			t.Fatal("a change after the not-ready spell did not arrive within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	api.mu.Lock()
	defer api.mu.Unlock()
	if api.lists != listsBefore {
		t.Errorf("%d lists after a not-ready spell of a running API server; want none", api.lists-listsBefore)
	}
}

// TestOutageNeedsRelist: the informers list anew after an outage in which
// the API server could not be reached, or was not ready for long and
// some watch did not live through it.
func TestOutageNeedsRelist(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name    string
		probes  []probeResult
		back    time.Duration // from the first failed probe to the ready one
		watched bool          // every watch open since before the outage
		want    bool
	}{
		{"refused (API server down)", []probeResult{unreachable, unreachable}, 4 * time.Second, false, true},
		{"refused, watches still open", []probeResult{unreachable, unreachable}, 4 * time.Second, true, true},
		{"not ready, then refused", []probeResult{notReady, unreachable, notReady}, 6 * time.Second, false, true},
		{"not ready briefly (etcd restart)", []probeResult{notReady, notReady, notReady}, 6 * time.Second, false, false},
		{"not ready for long, a watch ended", []probeResult{notReady, notReady}, notReadyRelist, false, true},
		{"not ready for long, watches lived", []probeResult{notReady, notReady}, notReadyRelist, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o outage
			for i, r := range tc.probes {
				o.note(r, t0.Add(time.Duration(i)*time.Second))
			}
			if !o.known() {
				t.Fatalf("%d failed probes are not an outage", len(tc.probes))
			}
			watched := func(since time.Time) bool {
				if !since.Equal(t0) {
					t.Errorf("watches asked about since %v, want the first failed probe's time", since)
				}
				return tc.watched
			}
			if got := o.needsRelist(t0.Add(tc.back), notReadyRelist, watched); got != tc.want {
				t.Errorf("needsRelist = %v, want %v", got, tc.want)
			}
			o.note(ready, t0.Add(tc.back))
			if o.known() {
				t.Error("a ready probe did not end the outage")
			}
		})
	}
}

// TestRelistOutlastsNotReady: a relist goes on while the API server
// answers "not ready" (slow under every node's relist), and ends when it
// cannot be reached any more.
func TestRelistOutlastsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out slow lists")
	}
	for _, tc := range []struct {
		name string
		down func(api *restartableAPI)
		want bool
	}{
		{"not ready", func(api *restartableAPI) { api.mu.Lock(); api.notReady = true; api.mu.Unlock() }, true},
		{"gone", func(api *restartableAPI) { api.stop() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newRestartableAPI(t, svcObj("web", nil))
			api.listDelay = outageProbes*probeEvery + time.Second // longer than an outage takes to be seen
			a := NewAPIServer(kubeclienttest.Clientset{Interface: api}, "")
			set, err := a.startSet(t.Context(), &recorder{}, false)
			if err != nil {
				t.Fatal(err)
			}
			defer set.shutdown()
			tc.down(api)
			if got := a.awaitSync(t.Context(), set); got != tc.want {
				t.Errorf("awaitSync = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestProbeResultOf: only a refused or reset connection means the API
// server is gone; an error status or a timeout means it is not ready.
func TestProbeResultOf(t *testing.T) {
	get := func(err error) error { return &url.Error{Op: "Get", URL: "https://api/readyz", Err: err} }
	for _, tc := range []struct {
		name string
		err  error
		want probeResult
	}{
		{"ok", nil, ready},
		{"forbidden", apierrors.NewForbidden(schema.GroupResource{}, "readyz", nil), ready},
		{"etcd failed", apierrors.NewInternalError(errors.New("[-]etcd failed")), notReady},
		{"server timeout", apierrors.NewTimeoutError("readyz", 1), notReady},
		{"client timeout", get(context.DeadlineExceeded), notReady},
		{"refused", get(errRefused), unreachable},
		{"reset", get(os.NewSyscallError("read", syscall.ECONNRESET)), unreachable},
	} {
		if got := probeResultOf(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRelistBeforeReady: after refusing connections, an API server that
// answers again is relisted from at once, though its readiness checks
// still fail (a restarted API server serves lists seconds before it is
// ready), and meanwhile the old informers' reflectors are held instead of
// retrying on their own (which, once it is back, would stream the whole
// cluster a second time).
func TestRelistBeforeReady(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a simulated outage")
	}
	api := newRestartableAPI(t, svcObj("web", nil), nodeObj("node-1"))
	a := NewAPIServer(kubeclienttest.Clientset{Interface: api}, "node-1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, &recorder{}) }()
	defer func() { cancel(); <-done }()
	select {
	case <-a.Synced():
	case <-time.After(10 * time.Second):
		t.Fatal("caches did not sync")
	}
	servedBefore := a.listers.Load()
	api.stop()
	time.Sleep(outageProbes*probeEvery + time.Second) // the outage is known, the reflectors held
	api.mu.Lock()
	refused := api.refused
	api.mu.Unlock()
	time.Sleep(3 * time.Second)
	api.mu.Lock()
	if api.refused != refused {
		t.Errorf("%d lists or watches tried while the outage was known; want the reflectors held", api.refused-refused)
	}
	api.notReady = true
	api.mu.Unlock()
	api.start(t)
	back := time.Now()
	const bound = 4 * time.Second // a probe, the jitter, a list
	for a.listers.Load() == servedBefore {
		if time.Since(back) > bound {
			t.Fatalf("no relist within %v of a restarted API server answering \"not ready\"", bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Contains(names(a.Snapshot()), "svc/web") {
		t.Errorf("the relisted snapshot lacks svc/web: %v", names(a.Snapshot()))
	}
}
