package kubeclient

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
)

// fakeAPI answers the few requests the agent makes, in JSON, and records
// each request's path and query.
type fakeAPI struct {
	t        *testing.T
	requests []string
	event    *eventsv1.Event // the last Event created
	cidrs    bool            // discovery lists servicecidrs
	ready    bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/api/v1/services" && r.URL.Query().Get("watch") == "true":
		ev := metav1.WatchEvent{Type: string(watch.Added)}
		svc, _ := json.Marshal(corev1.Service{TypeMeta: metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", ResourceVersion: "8"}})
		ev.Object.Raw = svc
		json.NewEncoder(w).Encode(ev)
	case r.URL.Path == "/api/v1/services":
		json.NewEncoder(w).Encode(corev1.ServiceList{TypeMeta: metav1.TypeMeta{Kind: "ServiceList", APIVersion: "v1"},
			ListMeta: metav1.ListMeta{ResourceVersion: "7"},
			Items:    []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "prod"}}}})
	case r.URL.Path == "/apis/discovery.k8s.io/v1/endpointslices":
		json.NewEncoder(w).Encode(discoveryv1.EndpointSliceList{TypeMeta: metav1.TypeMeta{Kind: "EndpointSliceList", APIVersion: "discovery.k8s.io/v1"},
			Items: []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Namespace: "prod"}}}})
	case r.URL.Path == "/apis/networking.k8s.io/v1":
		list := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: "networking.k8s.io/v1", APIResources: []metav1.APIResource{{Name: "ingresses"}}}
		if f.cidrs {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: "servicecidrs"})
		}
		json.NewEncoder(w).Encode(list)
	case r.URL.Path == "/readyz":
		if !f.ready {
			http.Error(w, "[-]etcd failed", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	case r.Method == http.MethodPost && r.URL.Path == "/apis/events.k8s.io/v1/namespaces/default/events":
		f.event = &eventsv1.Event{}
		if err := json.NewDecoder(r.Body).Decode(f.event); err != nil {
			f.t.Errorf("Event body: %v", err)
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(f.event)
	default:
		http.NotFound(w, r)
	}
}

func newClient(t *testing.T, f *fakeAPI) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(&rest.Config{Host: srv.URL, QPS: 50, Burst: 100})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestListWatch(t *testing.T) {
	f := &fakeAPI{t: t}
	c := newClient(t, f)
	lw, err := c.ListWatch(Services, func(o *metav1.ListOptions) { o.LabelSelector = "!service.kubernetes.io/headless" })
	if err != nil {
		t.Fatal(err)
	}
	list, err := lw.List(metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	svcs, ok := list.(*corev1.ServiceList)
	if !ok || len(svcs.Items) != 1 || svcs.Items[0].Name != "db" || svcs.ResourceVersion != "7" {
		t.Fatalf("list = %#v", list)
	}
	w, err := lw.Watch(metav1.ListOptions{ResourceVersion: "7"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		if s, ok := ev.Object.(*corev1.Service); ev.Type != watch.Added || !ok || s.Name != "web" {
			t.Errorf("watch event %v %#v", ev.Type, ev.Object)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
	}
	want := []string{
		"GET /api/v1/services?labelSelector=%21service.kubernetes.io%2Fheadless&resourceVersion=0",
		"GET /api/v1/services?labelSelector=%21service.kubernetes.io%2Fheadless&resourceVersion=7&watch=true",
	}
	if strings.Join(f.requests, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(f.requests, "\n"), strings.Join(want, "\n"))
	}
	// EndpointSlices come from their own group.
	lw, err = c.ListWatch(EndpointSlices, nil)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := lw.List(metav1.ListOptions{}); err != nil || len(list.(*discoveryv1.EndpointSliceList).Items) != 1 {
		t.Errorf("EndpointSlices: %v %v", list, err)
	}
	if _, err := c.ListWatch("deployments", nil); err == nil {
		t.Error("ListWatch of a resource the agent does not read: no error")
	}
}

// countingLimiter is a rate limiter that never waits and counts the
// requests that asked it.
type countingLimiter struct{ waits atomic.Int32 }

func (l *countingLimiter) TryAccept() bool                { l.waits.Add(1); return true }
func (l *countingLimiter) Accept()                        { l.waits.Add(1) }
func (l *countingLimiter) Wait(ctx context.Context) error { l.waits.Add(1); return nil }
func (l *countingLimiter) Stop()                          {}
func (l *countingLimiter) QPS() float32                   { return 5 }

// A paged list costs the rate limit one request, its first page: the
// pages that continue it go out at once.
func TestListPagesCountOnce(t *testing.T) {
	f := &fakeAPI{t: t}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	limiter := &countingLimiter{}
	c, err := New(&rest.Config{Host: srv.URL, RateLimiter: limiter})
	if err != nil {
		t.Fatal(err)
	}
	lw, err := c.ListWatch(Services, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		do    func() error
		waits int32
	}{
		{func() error { _, err := lw.List(metav1.ListOptions{Limit: 2}); return err }, 1},
		{func() error { _, err := lw.List(metav1.ListOptions{Limit: 2, Continue: "page-2"}); return err }, 1},
		{func() error { _, err := lw.List(metav1.ListOptions{Limit: 2, Continue: "page-3"}); return err }, 1},
		{func() error { _, err := lw.List(metav1.ListOptions{Limit: 2}); return err }, 2},                       // a new list
		{func() error { w, err := lw.Watch(metav1.ListOptions{ResourceVersion: "7"}); stop(w); return err }, 2}, // client-go never throttles watches
	}
	for i, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := limiter.waits.Load(); got != s.waits {
			t.Errorf("after request %d (%s): %d asked the rate limit, want %d", i, f.requests[i], got, s.waits)
		}
	}
	if got := f.requests[1]; !strings.Contains(got, "continue=page-2") {
		t.Errorf("second page sent as %q", got)
	}
}

func stop(w watch.Interface) {
	if w != nil {
		w.Stop()
	}
}

func TestServesServiceCIDRs(t *testing.T) {
	for _, served := range []bool{false, true} {
		c := newClient(t, &fakeAPI{t: t, cidrs: served})
		got, err := c.ServesServiceCIDRs(context.Background())
		if err != nil || got != served {
			t.Errorf("served %v: got %v, %v", served, got, err)
		}
	}
}

func TestReady(t *testing.T) {
	f := &fakeAPI{t: t, ready: true}
	c := newClient(t, f)
	if err := c.Ready(context.Background(), time.Second); err != nil {
		t.Errorf("ready: %v", err)
	}
	f.ready = false
	err := c.Ready(context.Background(), time.Second)
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusInternalServerError {
		t.Errorf("not ready: %v, want the API server's 500", err)
	}
	if f.requests[0] != "GET /readyz?timeout=1s" {
		t.Errorf("probe request %q", f.requests[0])
	}
	// Nothing listening: an error at once, no retries.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	gone, err := New(&rest.Config{Host: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := gone.Ready(context.Background(), time.Second); err == nil || time.Since(start) > 2*time.Second {
		t.Errorf("refused: %v after %v", err, time.Since(start))
	}
}

func TestCreateEvent(t *testing.T) {
	f := &fakeAPI{t: t}
	c := newClient(t, f)
	ev := &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Name: "node-1.1", Namespace: "default"}, Reason: "Starting",
		Regarding: corev1.ObjectReference{Kind: "Node", Name: "node-1"}, EventTime: metav1.NowMicro()}
	if err := c.CreateEvent(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if f.event == nil || f.event.Name != "node-1.1" || f.event.Reason != "Starting" || f.event.Regarding.Name != "node-1" {
		t.Errorf("created %+v", f.event)
	}
}
