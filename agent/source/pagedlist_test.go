package source

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
)

// pagedAPI serves a list of slices in pages of the size asked, the
// continue token being the next index, and records every request.
type pagedAPI struct {
	slices   []*discoveryv1.EndpointSlice
	asked    []metav1.ListOptions
	failPage int // 1-based page that fails; 0: none
}

func (a *pagedAPI) list(_ context.Context, o metav1.ListOptions) (runtime.Object, error) {
	a.asked = append(a.asked, o)
	if len(a.asked) == a.failPage {
		return nil, errors.New("page refused")
	}
	from := 0
	if o.Continue != "" {
		fmt.Sscan(o.Continue, &from)
	}
	to := min(from+int(o.Limit), len(a.slices))
	if o.Limit == 0 {
		to = len(a.slices)
	}
	page := &discoveryv1.EndpointSliceList{ListMeta: metav1.ListMeta{ResourceVersion: fmt.Sprint(100 + len(a.asked))}}
	for _, s := range a.slices[from:to] {
		page.Items = append(page.Items, *s)
	}
	if to < len(a.slices) {
		page.Continue = fmt.Sprint(to)
	}
	return page, nil
}

func (a *pagedAPI) lister() *pagedLister {
	lw := &cache.ListWatch{
		ListWithContextFunc: a.list,
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}
	p := newPagedLister(lw, leanObjectsSince(time.Time{}))
	p.pageSize = 2
	return p
}

// TestPagedListerLeansEveryPage: a list asks for pages of pageSize with the
// caller's selector, as a consistent read (the reflector's "0" dropped),
// makes every object lean, and carries the last page's resourceVersion;
// the reflector is told not to stream.
func TestPagedListerLeansEveryPage(t *testing.T) {
	api := &pagedAPI{}
	for i := range 5 {
		api.slices = append(api.slices, fatSlice(fmt.Sprintf("web-%d", i), "web"))
	}
	p := api.lister()
	got, err := p.ListWithContext(t.Context(), metav1.ListOptions{ResourceVersion: "0", LabelSelector: "a=b", Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	list := got.(*leanList)
	if len(list.Items) != 5 || list.ResourceVersion != "103" {
		t.Fatalf("list: %d items at resourceVersion %q, want 5 at 103", len(list.Items), list.ResourceVersion)
	}
	for i, o := range list.Items {
		c, ok := o.(*cachedSlice)
		if !ok || c.Name != fmt.Sprintf("web-%d", i) || len(c.compact.Endpoints) != 3 {
			t.Errorf("item %d: %T %+v, want the lean web-%d", i, o, o, i)
		}
	}
	if len(api.asked) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(api.asked))
	}
	for i, o := range api.asked {
		if o.Limit != 2 || o.ResourceVersion != "" || o.LabelSelector != "a=b" || o.Continue != []string{"", "2", "4"}[i] {
			t.Errorf("request %d: %+v", i, o)
		}
	}
	if !watchlist.DoesClientNotSupportWatchListSemantics(newWatchTracker(p)) {
		t.Error("the reflector would stream the list")
	}
}

// TestPagedListerFailedPage: a page that fails fails the list (the
// reflector lists again from the start), nothing half-listed returned.
func TestPagedListerFailedPage(t *testing.T) {
	api := &pagedAPI{failPage: 2}
	for i := range 5 {
		api.slices = append(api.slices, fatSlice(fmt.Sprintf("web-%d", i), "web"))
	}
	got, err := api.lister().ListWithContext(t.Context(), metav1.ListOptions{})
	if err == nil || got != nil {
		t.Fatalf("list = %v, %v; want the page's error", got, err)
	}
}

// TestCachedSliceCopy: the copy the reflector may make of a cached slice
// has its own metadata and the same endpoints.
func TestCachedSliceCopy(t *testing.T) {
	c := cacheSlice(fatSlice("web-1", "web"), time.Time{})
	c.Labels = map[string]string{"a": "b"}
	cp := c.DeepCopyObject().(*cachedSlice)
	cp.Labels["a"] = "c"
	if c.Labels["a"] != "b" {
		t.Error("the copy shares its labels with the original")
	}
	if &cp.compact.Endpoints[0] != &c.compact.Endpoints[0] {
		t.Error("the copy does not share the compact endpoints")
	}
}
