package source

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/svcnat/svcnat/agent/kubeclient"
	"github.com/svcnat/svcnat/agent/kubeclient/kubeclienttest"
)

// fakeLW hands out fake watches and counts them.
type fakeLW struct {
	cache.ListerWatcher
	opened []*watch.FakeWatcher
}

func (f *fakeLW) Watch(metav1.ListOptions) (watch.Interface, error) {
	w := watch.NewFake()
	f.opened = append(f.opened, w)
	return w, nil
}

// TestWatchTracker: a watch counts as open from its opening to its Stop;
// only a watch opened before a time and still open covers that time.
func TestWatchTracker(t *testing.T) {
	lw := &fakeLW{}
	tr := newWatchTracker(lw)
	before := time.Now()
	if tr.openSinceBefore(before) {
		t.Fatal("open before any watch")
	}
	w1, err := tr.Watch(metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond) // clocks tick coarsely on some machines
	outage := time.Now()
	if tr.openSinceBefore(before) {
		t.Error("a watch opened after a time covers it")
	}
	if !tr.openSinceBefore(outage) {
		t.Error("a watch opened before a time and still open does not cover it")
	}
	w1.Stop()
	if tr.openSinceBefore(outage) {
		t.Error("a stopped watch still covers the outage")
	}
	if !lw.opened[0].IsStopped() {
		t.Error("Stop did not reach the wrapped watch")
	}
	time.Sleep(time.Millisecond)
	w2, err := tr.Watch(metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w1.Stop() // a stale Stop (reflectors stop a watch more than once)
	if !tr.openSinceBefore(time.Now().Add(time.Millisecond)) {
		t.Error("stopping an old watch again closed the new one")
	}
	if tr.openSinceBefore(outage) {
		t.Error("a watch reopened after the outage began covers it")
	}
	w2.Stop()
}

// TestWatchTrackerKeepsWatchListSupport: the tracker says what the
// wrapped ListerWatcher says about watch lists, so that reflectors stream
// from a real API server and list from a fake clientset.
func TestWatchTrackerKeepsWatchListSupport(t *testing.T) {
	faked, err := kubeclienttest.Clientset{Interface: fake.NewClientset()}.ListWatch(kubeclient.Services, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !newWatchTracker(faked).IsWatchListSemanticsUnSupported() {
		t.Error("a fake clientset's ListerWatcher lost its 'no watch lists'")
	}
	if newWatchTracker(&fakeLW{}).IsWatchListSemanticsUnSupported() {
		t.Error("a ListerWatcher that says nothing became one without watch lists")
	}
}

// TestWatchTrackerHold: held, new lists and watches wait until release or
// until their context ends (the informer set shutting down).
func TestWatchTrackerHold(t *testing.T) {
	lw := &fakeLW{}
	tr := newWatchTracker(lw)
	tr.hold()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() {
		_, err := tr.WatchWithContext(ctx, metav1.ListOptions{})
		ended <- err
	}()
	select {
	case err := <-ended:
		t.Fatalf("a held watch went through (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("held watch ended with %v, want its context's error", err)
		}
	case <-time.After(time.Second):
		t.Fatal("a held watch outlived its context")
	}
	if len(lw.opened) != 0 {
		t.Fatal("a held watch reached the API")
	}
	go func() {
		_, err := tr.WatchWithContext(context.Background(), metav1.ListOptions{})
		ended <- err
	}()
	time.Sleep(20 * time.Millisecond)
	tr.release()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("released watch: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("release did not let a held watch through")
	}
	if w, err := tr.Watch(metav1.ListOptions{}); err != nil {
		t.Errorf("watch after release: %v", err)
	} else {
		w.Stop()
	}
}
