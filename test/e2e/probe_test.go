//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

// debug prints every probe of the waits (E2E_DEBUG=1).
var debug = os.Getenv("E2E_DEBUG") != ""

const (
	pollEvery = 15 * time.Millisecond
	// probeTimeout bounds one probe while waiting for a change. A rule that
	// DROPs shows up as this timeout, a REJECT or closed port at once.
	probeTimeout = 300 * time.Millisecond
	// applyLimit bounds the wait for one change to reach the kernel.
	applyLimit = 20 * time.Second
)

// dial is one TCP probe: connect, read the echo line, close.
func dial(from *netns.Host, dst netip.AddrPort, timeout time.Duration) (netns.Reply, error) {
	return from.Dial(context.Background(), netns.TCP, dst, timeout)
}

// cond tells whether one probe's outcome shows the state being waited for.
type cond func(netns.Reply, error) bool

func answers(r netns.Reply, err error) bool { return err == nil }
func noAnswer(r netns.Reply, err error) bool {
	return err != nil && (netns.IsRefused(err) || netns.IsTimeout(err))
}

// servedBy holds when the reply comes from one of addrs.
func servedBy(addrs ...netip.AddrPort) cond {
	return func(r netns.Reply, err error) bool { return err == nil && slices.Contains(addrs, r.Server) }
}

// await probes dst from `from` every pollEvery until ok holds, and returns
// the time from `since` (when the API write returned) to the start of the
// first probe that saw the new state. It fails t after limit.
func await(t *testing.T, what string, since time.Time, from *netns.Host, dst netip.AddrPort, ok cond) time.Duration {
	t.Helper()
	d, last, err := awaitN(since, applyLimit, from, dst, ok, 1)
	if err != nil {
		t.Fatalf("%s: %s %v: %v (last probe: %s)", what, from, dst, err, last)
	}
	t.Logf("(%s: %v)", what, d.Round(time.Millisecond))
	return d
}

// awaitN waits for n consecutive probes satisfying ok and returns the time
// from since to the start of the first of them. A probe starts every
// pollEvery whether or not the previous one finished: a probe lost to a
// DROP rule takes probeTimeout to fail, and must not delay the next one.
// Outcomes are judged in the order the probes started.
func awaitN(since time.Time, limit time.Duration, from *netns.Host, dst netip.AddrPort, ok cond, n int) (time.Duration, string, error) {
	type result struct {
		seq   int
		start time.Time
		ok    bool
		desc  string
	}
	results := make(chan result, 64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	wg.Add(1)
	go func() { // the launcher
		defer wg.Done()
		tick := time.NewTicker(pollEvery)
		defer tick.Stop()
		for seq := 0; time.Since(since) < limit; seq++ {
			wg.Add(1)
			go func(seq int, start time.Time) {
				defer wg.Done()
				r, err := dial(from, dst, probeTimeout)
				select {
				case results <- result{seq, start, ok(r, err), fmt.Sprintf("%v %v", r, err)}:
				case <-stop:
				}
			}(seq, time.Now())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	pending := map[int]result{}
	next, run := 0, 0
	var runStart time.Time
	var last string
	timeout := time.After(time.Until(since.Add(limit + probeTimeout + time.Second)))
	for {
		select {
		case r := <-results:
			pending[r.seq] = r
		case <-timeout:
			return 0, last, fmt.Errorf("not seen within %v", limit)
		}
		for r, done := pending[next]; done; r, done = pending[next] {
			delete(pending, next)
			next++
			last = r.desc
			if debug {
				fmt.Printf("probe %d %s since=%s start=%s ok=%v %s\n", r.seq, dst, since.Format("15:04:05.000000"), r.start.Format("15:04:05.000000"), r.ok, r.desc)
			}
			if !r.ok {
				run = 0
				continue
			}
			if run == 0 {
				runStart = r.start
			}
			if run++; run >= n {
				return max(0, runStart.Sub(since)), last, nil
			}
		}
	}
}

// measure is await plus recording the latency under kind.
func measure(t *testing.T, kind string, since time.Time, from *netns.Host, dst netip.AddrPort, ok cond) {
	t.Helper()
	measureWithin(t, kind, applyLimit, since, from, dst, ok)
}

// measureWithin is measure with its own limit, for waits after faults.
func measureWithin(t *testing.T, kind string, limit time.Duration, since time.Time, from *netns.Host, dst netip.AddrPort, ok cond) {
	t.Helper()
	d, last, err := awaitN(since, limit, from, dst, ok, 1)
	if err != nil {
		t.Fatalf("%s: %s %v: %v (last probe: %s)", kind, from, dst, err, last)
	}
	env.lat.add(kind, d)
	t.Logf("%-28s %v", kind, d.Round(time.Millisecond))
}

// measureRemoved waits until no probe reaches any of gone for 8 probes
// in a row (with random load balancing one probe proves nothing), and
// records the time to the first of those probes.
func measureRemoved(t *testing.T, kind string, since time.Time, from *netns.Host, dst netip.AddrPort, gone ...netip.AddrPort) {
	t.Helper()
	ok := func(r netns.Reply, err error) bool { return err == nil && !slices.Contains(gone, r.Server) }
	d, last, err := awaitN(since, applyLimit, from, dst, ok, 8)
	if err != nil {
		t.Fatalf("%s: %s %v: %v (last probe: %s)", kind, from, dst, err, last)
	}
	env.lat.add(kind, d)
	t.Logf("%-28s %v", kind, d.Round(time.Millisecond))
}

// serversSeen dials n times and returns the set of servers that answered;
// any failure fails t.
func serversSeen(t *testing.T, from *netns.Host, dst netip.AddrPort, n int) map[netip.AddrPort]int {
	t.Helper()
	seen := map[netip.AddrPort]int{}
	for i := range n {
		r, err := dial(from, dst, time.Second)
		if err != nil {
			t.Fatalf("dial %d/%d %s -> %v: %v", i+1, n, from, dst, err)
		}
		seen[r.Server]++
	}
	return seen
}

// mustAnswer fails t unless one dial is answered; returns the reply.
func mustAnswer(t *testing.T, from *netns.Host, dst netip.AddrPort) netns.Reply {
	t.Helper()
	r, err := dial(from, dst, 2*time.Second)
	if err != nil {
		t.Fatalf("%s -> %v: %v", from, dst, err)
	}
	return r
}

// startTraffic dials dst from `from` every interval in the background
// (each dial answered within 2 s) until checkTraffic.
func startTraffic(from *netns.Host, dst netip.AddrPort, interval time.Duration) *labtest.Traffic {
	return labtest.StartTraffic(context.Background(), interval, labtest.DialCheck(from, netns.TCP, dst, 2*time.Second))
}

// latencies collects "API write returned → first probe seeing the change".
type latencies struct {
	mu    sync.Mutex
	kinds []string
	by    map[string][]time.Duration
}

func newLatencies() *latencies { return &latencies{by: map[string][]time.Duration{}} }

func (l *latencies) add(kind string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.by[kind]; !ok {
		l.kinds = append(l.kinds, kind)
	}
	l.by[kind] = append(l.by[kind], d)
}

// report prints median and worst per kind and overall, to w and to path.
func (l *latencies) report(w io.Writer, path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "svcnat e2e: API write -> first probe seeing the change (%s, poll %v)\n",
		time.Now().Format(time.RFC3339), pollEvery)
	var all []time.Duration
	for _, k := range l.kinds {
		all = append(all, l.by[k]...)
		fmt.Fprintf(&b, "  %-28s %s\n", k, stats(l.by[k]))
	}
	fmt.Fprintf(&b, "  %-28s %s\n", "ALL", stats(all))
	fmt.Fprint(w, b.String())
	if len(all) == 0 || path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		err = os.WriteFile(path, []byte(b.String()), 0o644)
		if err != nil {
			fmt.Fprintf(w, "latency summary: %v\n", err)
		}
	}
}

func stats(ds []time.Duration) string {
	if len(ds) == 0 {
		return "n=0"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("n=%-3d median %-8v worst %v", len(s), s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

func isRefused(err error) bool { return err != nil && netns.IsRefused(err) }

// routeViaNode makes the client send ip (a LoadBalancer IP on the LAN) to
// the node, as the LAN's router would; removed at the end of t.
func routeViaNode(t *testing.T, ip netip.Addr) {
	t.Helper()
	dst := netip.PrefixFrom(ip, 32).String()
	if _, err := env.lab.Client.Exec(ctx(t), "ip", "route", "replace", dst, "via", env.lab.Node.IPv4().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := env.lab.Client.Exec(context.Background(), "ip", "route", "del", dst); err != nil {
			t.Errorf("remove route: %v", err)
		}
	})
}

func isTimeout(err error) bool { return err != nil && netns.IsTimeout(err) }
