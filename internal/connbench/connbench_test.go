package connbench_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/connbench"
	"github.com/svcnat/svcnat/netns/netnstest"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	for _, c := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 50, 3 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 100, 5 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	} {
		if got := connbench.Percentile(c.ds, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.ds, c.p, got, c.want)
		}
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := connbench.Median(xs); got != 2 {
		t.Errorf("Median = %v, want 2", got)
	}
	if xs[0] != 3 {
		t.Error("Median sorted its argument")
	}
	if got := connbench.Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v", got)
	}
}

// TestRun connects from the lab's client to a pod through the node: every
// connection completes, and a port nobody serves fails every one.
func TestRun(t *testing.T) {
	lab := netnstest.NewLab(t)
	podIP := netip.MustParseAddr("10.244.1.5")
	pod, err := lab.AddPod("server", podIP)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := connbench.Serve(pod.Host, netip.AddrPortFrom(podIP, 8080), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	r, err := connbench.Run(lab.Client, srv.Addr(), 2, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns == 0 || r.Errors != 0 || len(r.Connect) != r.Conns {
		t.Fatalf("served port: %d connections, %d latencies, %d errors (first: %v)", r.Conns, len(r.Connect), r.Errors, r.FirstErr)
	}
	if r.Rate() <= 0 || r.Elapsed < 300*time.Millisecond {
		t.Errorf("rate %v over %v", r.Rate(), r.Elapsed)
	}

	r, err = connbench.Run(lab.Client, netip.AddrPortFrom(podIP, 8081), 1, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Conns != 0 || r.Errors == 0 || r.FirstErr == nil {
		t.Errorf("closed port: %d connections, %d errors", r.Conns, r.Errors)
	}
}
