package labtest_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/netns/netnstest"
)

func TestTrafficCounts(t *testing.T) {
	var n atomic.Int32
	tr := labtest.StartTraffic(t.Context(), 5*time.Millisecond, func(context.Context) error {
		if n.Add(1)%3 == 0 {
			return errors.New("dropped")
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond)
	r := tr.Stop()
	if r.Total() < 10 || len(r.Failures) != r.Total()/3 {
		t.Errorf("%d ok, failures %q: want one in three of %d", r.OK, r.Failures, r.Total())
	}
	for _, f := range r.Failures {
		if !strings.HasSuffix(f, " dropped") || len(f) != len("15:04:05.000 dropped") {
			t.Errorf("failure %q is not \"TIME reason\"", f)
		}
	}
}

func TestTrafficEndingEarlyIsAFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	tr := labtest.StartTraffic(ctx, 5*time.Millisecond, func(context.Context) error { return nil })
	time.Sleep(150 * time.Millisecond)
	r := tr.Stop()
	if len(r.Failures) != 1 || !strings.Contains(r.Failures[0], "ended before Stop") {
		t.Errorf("failures %q", r.Failures)
	}
}

// TestTrafficChecks sends real traffic: a held connection to a pod and new
// connections, then new connections to a closed port.
func TestTrafficChecks(t *testing.T) {
	lab := netnstest.NewLab(t)
	pod, err := lab.AddPod("web", netip.MustParseAddr("10.244.1.5"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pod.Serve(netns.TCP, 8080); err != nil {
		t.Fatal(err)
	}
	dst := netip.MustParseAddrPort("10.244.1.5:8080")
	conn, err := lab.Node.OpenConn(t.Context(), dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pings := labtest.StartTraffic(t.Context(), 10*time.Millisecond, labtest.PingCheck(conn))
	dials := labtest.StartTraffic(t.Context(), 10*time.Millisecond, labtest.DialCheck(lab.Node, netns.TCP, dst, time.Second))
	closed := labtest.StartTraffic(t.Context(), 10*time.Millisecond,
		labtest.DialCheck(lab.Node, netns.TCP, netip.MustParseAddrPort("10.244.1.5:9999"), time.Second))
	time.Sleep(300 * time.Millisecond)
	for name, tr := range map[string]*labtest.Traffic{"pings": pings, "dials": dials} {
		if r := tr.Stop(); r.OK < 5 || len(r.Failures) > 0 {
			t.Errorf("%s: %d ok, failures %q", name, r.OK, r.Failures)
		}
	}
	r := closed.Stop()
	if r.OK > 0 || len(r.Failures) < 5 || !strings.Contains(r.Failures[0], "refused") {
		t.Errorf("closed port: %d ok, failures %q", r.OK, r.Failures)
	}
}
