package agent

import (
	"context"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
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
	// Pings of the established connection every 50 ms, and new
	// connections in a loop.
	pinger := labtest.StartTraffic(ctx, 50*time.Millisecond, labtest.PingCheck(conn))
	dialer := labtest.StartTraffic(ctx, 10*time.Millisecond, labtest.DialCheck(f.lab.Client, netns.TCP, dst, 0))
	time.Sleep(300 * time.Millisecond)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := restart(ctx, a, sig); err != nil {
			pinger.Stop()
			dialer.Stop()
			t.Fatalf("restart after %v: %v", sig, err)
		}
		time.Sleep(time.Second) // traffic against the new agent
	}
	pings, dials := pinger.Stop(), dialer.Stop()
	t.Logf("%d pings on one connection, %d new connections, %d failures",
		pings.Total(), dials.Total(), len(pings.Failures)+len(dials.Failures))
	for _, f := range append(pings.Failures, dials.Failures...) {
		t.Error(f)
	}
	if pings.Total() < 20 || dials.Total() < 20 {
		t.Errorf("too little traffic to judge: %d pings, %d dials", pings.Total(), dials.Total())
	}
}

// restart stops the agent with sig, starts a new one and waits until it
// has synced once.
func restart(ctx context.Context, a *agent, sig syscall.Signal) error {
	if err := a.stop(sig); err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		return err
	}
	_, err := labtest.Eventually(ctx, startLimit, pollInterval, func(ctx context.Context) error {
		return positive(ctx, a, `kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"}`)
	})
	return err
}
