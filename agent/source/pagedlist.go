package source

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// listPageSize is how many objects a list asks for at a time: at 10k,
// 4 pages per kind (and a fifth for the last few objects), ≈ 8 MB decoded
// at once per kind. The client's rate limit counts a list's first page
// only (kubeclient.Client.ListWatch); when it counted every page, pages
// of 500 made a start at 10k Services wait ≈ 6 s for its 40 pages.
const listPageSize = 2500

// pagedLister is an informer's ListerWatcher that lists in pages and makes
// each page lean (the informer's transform) before asking for the next,
// and that tells the reflector not to stream its lists.
//
// Why: a streamed list (client-go's default) never holds a whole decoded
// list, but the API server sends it as initial events that the cluster's
// new events queue behind, and closes the stream when that queue is full
// (10 events: a second of churn), so an agent starting under churn at 10k
// often listed twice. A plain LIST is one response nothing closes early,
// but it is decoded whole before the transform runs (a 152 MB peak at
// 10k Services against 110 MB streamed). Pages are both: each is a short
// response, and only one is ever held decoded.
type pagedLister struct {
	cache.ListerWatcherWithContext
	lean     cache.TransformFunc
	pageSize int64
}

func newPagedLister(lw cache.ListerWatcher, lean cache.TransformFunc) *pagedLister {
	return &pagedLister{ListerWatcherWithContext: cache.ToListerWatcherWithContext(lw), lean: lean, pageSize: listPageSize}
}

var _ cache.ListerWatcherWithContext = (*pagedLister)(nil)

func (p *pagedLister) List(options metav1.ListOptions) (runtime.Object, error) {
	return p.ListWithContext(context.Background(), options)
}

func (p *pagedLister) Watch(options metav1.ListOptions) (watch.Interface, error) {
	return p.WatchWithContext(context.Background(), options)
}

// IsWatchListSemanticsUnSupported tells the reflector to list, not stream.
func (p *pagedLister) IsWatchListSemanticsUnSupported() bool { return true }

// ListWithContext lists every object in pages and returns them lean, with
// the resourceVersion of the list (the last page's: a paged list is one
// snapshot). The reflector's resourceVersion "0" (any cached state) is
// dropped: the API server ignores a limit with it and answers in one
// response; without it a page is a consistent read, which a current API
// server serves from its watch cache too.
func (p *pagedLister) ListWithContext(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
	opts := options
	opts.Limit = p.pageSize
	opts.ResourceVersion, opts.ResourceVersionMatch, opts.Continue = "", "", ""
	out := &leanList{}
	for {
		page, err := p.ListerWatcherWithContext.ListWithContext(ctx, opts)
		if err != nil {
			return nil, err
		}
		next, err := p.add(out, page)
		if err != nil || next == "" {
			return out, err
		}
		opts.Continue = next
	}
}

// add appends page's objects, lean, to out and returns its continue token.
func (p *pagedLister) add(out *leanList, page runtime.Object) (string, error) {
	lm, err := meta.ListAccessor(page)
	if err != nil {
		return "", err
	}
	items, err := meta.ExtractList(page)
	if err != nil {
		return "", err
	}
	for _, it := range items {
		l, err := p.lean(it)
		if err != nil {
			return "", err
		}
		o, ok := l.(runtime.Object)
		if !ok {
			return "", fmt.Errorf("list: the transform made %T, not an API object", l)
		}
		out.Items = append(out.Items, o)
	}
	out.ResourceVersion = lm.GetResourceVersion()
	return lm.GetContinue(), nil
}

// leanList is a list of lean objects, as pagedLister returns them: the
// reflector reads its resourceVersion and its Items (meta.ExtractList).
type leanList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []runtime.Object
}

// DeepCopyObject copies the list, not its objects: the reflector only
// reads them, and the informer's cache keeps them as they are.
func (l *leanList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = append([]runtime.Object(nil), l.Items...)
	return &c
}

// The informer cache's EndpointSlices are API objects for the reflector
// (it reads a list's items as such); nothing copies or encodes them.
func (c *cachedSlice) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the metadata; the compact endpoints are shared, as
// cached objects are never modified.
func (c *cachedSlice) DeepCopyObject() runtime.Object {
	cp := *c
	cp.ObjectMeta = *c.ObjectMeta.DeepCopy()
	return &cp
}
