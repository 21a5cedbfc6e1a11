package source

import (
	"context"
	"fmt"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/svcnat/svcnat/agent/kubeclient/kubeclienttest"
	"github.com/svcnat/svcnat/internal/gen"
)

// notifier is a Handler that signals each change on a channel.
type notifier chan Kind

func (n notifier) Changed(k Kind) {
	select {
	case n <- k:
	default:
	}
}
func (notifier) InputError(error) {}

// BenchmarkAPIServerSnapshot is the source's share of a sync after one
// EndpointSlice changed, in a cluster of N Services × 10 endpoints: the
// update goes through a fake API and the informers (not timed: the fake's
// update and the informer's delivery cost milliseconds at every size), then
// the Snapshot taken after the notification is timed.
func BenchmarkAPIServerSnapshot(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			in := gen.Cluster(gen.Config{Services: n, EndpointsPerService: 10}.WithDefaults())
			var objs []runtime.Object
			for _, s := range in.Services {
				objs = append(objs, s)
			}
			for _, s := range in.EndpointSlices {
				objs = append(objs, s)
			}
			client := fake.NewClientset(objs...)
			a := NewAPIServer(kubeclienttest.Clientset{Interface: client}, "")
			a.probeEvery = 0
			events := make(notifier, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = a.Run(ctx, events) }()
			select {
			case <-a.Synced():
			case <-time.After(time.Minute):
				b.Fatal("caches did not sync")
			}
			if got := len(a.Snapshot().Input.EndpointSlices); got != len(in.EndpointSlices) {
				b.Fatalf("%d slices in the snapshot, want %d", got, len(in.EndpointSlices))
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				changeSlice(ctx, b, client, in.EndpointSlices[i%len(in.EndpointSlices)], i)
				select {
				case <-events:
				case <-time.After(10 * time.Second):
					b.Fatal("no notification")
				}
				b.StartTimer()
				a.Snapshot()
			}
		})
	}
}

// changeSlice writes a new version of s through client: round i's
// endpoint count.
func changeSlice(ctx context.Context, b *testing.B, client *fake.Clientset, s *discoveryv1.EndpointSlice, i int) {
	c := s.DeepCopy()
	c.Endpoints = c.Endpoints[:1+i%len(c.Endpoints)]
	c.ResourceVersion = fmt.Sprint(i + 1)
	if _, err := client.DiscoveryV1().EndpointSlices(c.Namespace).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
}
