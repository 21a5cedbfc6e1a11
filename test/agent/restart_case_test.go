package agent

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// TestRestartUnderTraffic: stopping the agent (SIGTERM or SIGKILL) and
// starting a new one on the same folder loses neither an established
// connection nor a new one: the rules stay in place and the new agent
// adopts them without a gap.
func TestRestartUnderTraffic(t *testing.T) {
	forEachBackend(t, testRestartUnderTraffic)
}

func testRestartUnderTraffic(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1, pod2})
	svc := web(on("node-1", pod1, pod2)...)
	svc.typ, svc.nodePort = "NodePort", 30080
	f.write(t, svc)
	a := startAgent(t, f.lab, f.dir, agentOpts{backend: backend})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	dst := netip.AddrPortFrom(nodeIP, 30080)
	within(ctx, t, "first sync", time.Now(), startLimit, answeredBy(f.lab.Client, netns.TCP, dst, pod1, pod2))

	conn, err := f.lab.Client.OpenConn(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tr := startTraffic(ctx, f.lab.Client, conn, dst)
	time.Sleep(300 * time.Millisecond)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := restart(ctx, a, sig); err != nil {
			tr.finish()
			t.Fatalf("restart after %v: %v", sig, err)
		}
		time.Sleep(time.Second) // traffic against the new agent
	}
	pings, dials, failures := tr.finish()
	t.Logf("%d pings on one connection, %d new connections, %d failures", pings, dials, len(failures))
	for _, f := range failures {
		t.Error(f)
	}
	if pings < 20 || dials < 20 {
		t.Errorf("too little traffic to judge: %d pings, %d dials", pings, dials)
	}
}

// restart stops the agent with sig, starts a new one and waits until it
// has synced once.
func restart(ctx context.Context, a *agent, sig syscall.Signal) error {
	if err := a.stop(sig); err != nil {
		return err
	}
	if err := a.start(); err != nil {
		return err
	}
	_, err := eventually(ctx, time.Now(), startLimit, func(ctx context.Context) error {
		return positive(ctx, a, `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}`)
	})
	return err
}

// traffic pings an established connection every 50 ms and opens new
// connections in a loop until finish, recording every failure.
type traffic struct {
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	mu           sync.Mutex
	pings, dials int
	failures     []string
}

func startTraffic(ctx context.Context, cl *netns.Host, conn *netns.Conn, dst netip.AddrPort) *traffic {
	ctx, cancel := context.WithCancel(ctx)
	tr := &traffic{cancel: cancel}
	first := conn.First().Server
	tr.wg.Go(func() {
		tr.loop(ctx, 50*time.Millisecond, &tr.pings, func() error {
			r, err := conn.Ping()
			if err == nil && r.Server != first {
				err = fmt.Errorf("established connection moved from %v to %v", first, r.Server)
			}
			return err
		})
	})
	tr.wg.Go(func() {
		tr.loop(ctx, 10*time.Millisecond, &tr.dials, func() error {
			_, err := cl.Dial(ctx, netns.TCP, dst, 0)
			return err
		})
	})
	return tr
}

// loop calls try every interval until ctx is done.
func (tr *traffic) loop(ctx context.Context, interval time.Duration, count *int, try func() error) {
	for ctx.Err() == nil {
		err := try()
		tr.mu.Lock()
		if ctx.Err() == nil {
			*count++
			if err != nil {
				tr.failures = append(tr.failures, fmt.Sprintf("%s: %v", time.Now().Format("15:04:05.000"), err))
			}
		}
		tr.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

// finish stops the traffic and returns what happened.
func (tr *traffic) finish() (pings, dials int, failures []string) {
	tr.cancel()
	tr.wg.Wait()
	return tr.pings, tr.dials, tr.failures
}
