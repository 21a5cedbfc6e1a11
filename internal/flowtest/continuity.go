package flowtest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/synth"
)

const (
	// applies is how many successive states Continuity programs.
	applies = 100
	// maxProbeRounds bounds the background prober.
	maxProbeRounds = 20000
	// probePause spaces probe rounds, leaving CPU to the applies.
	probePause = 2 * time.Millisecond
)

var (
	clusterIP = netip.MustParseAddrPort("10.96.0.80:80")
	nodePort  = netip.MustParseAddrPort("192.168.1.100:30080")
	podClient = netip.MustParseAddr("10.244.1.50")
)

// Continuity checks that programming changes never disturbs a Service whose
// endpoints stay: on the seed scenario's lab, long-lived TCP connections
// (client to ClusterIP and NodePort, pod to ClusterIP) keep answering while
// 100 successive states are applied, and every new connection, opened
// during and after each apply, is answered by a current endpoint.
func Continuity(t *testing.T, newBackend Factory) {
	s := load(t, "seed-nodeport")
	st := &states{
		svc: s.Input.Services[0], slice: s.Input.EndpointSlices[0],
		stable: []string{"10.244.1.2", "10.244.2.2"}, extra: "10.244.1.3",
	}
	e := newEnv(t, s, synth.Build(s.Input, s.Config))
	be := newBackend(t, e.lab.Node.Path())
	ctx := context.Background()
	apply := func(i int) {
		t.Helper()
		res := synth.Build(st.state(i), s.Config)
		if _, err := backend.Apply(ctx, be, res.Rulesets(), nil); err != nil {
			t.Fatalf("apply state %d: %v", i, err)
		}
	}
	apply(0)
	conns := e.openStable(t, st.allowed(0))
	p := startProber(conns, func() error { return e.newConn(e.lab.Client, clusterIP, st.allowed(1)) })
	for i := 1; i <= applies; i++ {
		apply(i)
		if err := e.newConns(st.allowed(i)); err != nil {
			t.Errorf("after apply %d: %v", i, err)
		}
	}
	rounds, errs := p.stop()
	t.Logf("%d applies, %d probe rounds (pings of %d connections and a new connection each)", applies, rounds, len(conns))
	for _, err := range errs {
		t.Error(err)
	}
	for _, c := range conns {
		if err := ping(c); err != nil {
			t.Errorf("final ping: %v", err)
		}
	}
}

// allowed returns the endpoints of the watched Service in state i.
func (s *states) allowed(i int) []netip.AddrPort {
	var out []netip.AddrPort
	for _, a := range s.state(i).EndpointSlices[0].Endpoints {
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr(a.Addresses[0]), 8080))
	}
	return out
}

// openStable opens the long-lived connections; each must reach one of want.
func (e *env) openStable(t *testing.T, want []netip.AddrPort) []*netns.Conn {
	ctx := context.Background()
	var conns []*netns.Conn
	for _, c := range []struct {
		h   *netns.Host
		dst netip.AddrPort
	}{{e.lab.Client, clusterIP}, {e.lab.Client, nodePort}, {e.pods[podClient].Host, clusterIP}} {
		conn, err := c.h.OpenConn(ctx, c.dst)
		if err != nil {
			t.Fatalf("open %s from %s: %v", c.dst, c.h, err)
		}
		if !slices.Contains(want, conn.First().Server) {
			t.Fatalf("%s from %s answered by %s, want one of %v", c.dst, c.h, conn.First().Server, want)
		}
		conns = append(conns, conn)
	}
	return conns
}

// newConns opens one new connection per entry point and source.
func (e *env) newConns(want []netip.AddrPort) error {
	return errors.Join(
		e.newConn(e.lab.Client, clusterIP, want),
		e.newConn(e.lab.Client, nodePort, want),
		e.newConn(e.pods[podClient].Host, clusterIP, want))
}

// newConn opens a connection from h to dst that one of want must answer.
func (e *env) newConn(h *netns.Host, dst netip.AddrPort, want []netip.AddrPort) error {
	r, err := h.Dial(context.Background(), netns.TCP, dst, dnatWait)
	switch {
	case err != nil:
		return fmt.Errorf("new connection: %w", err)
	case !slices.Contains(want, r.Server):
		return fmt.Errorf("new connection from %s to %s answered by %s, want one of %v", h, dst, r.Server, want)
	}
	return nil
}

// ping checks that c still reaches the server it first reached.
func ping(c *netns.Conn) error {
	r, err := c.Ping()
	switch {
	case err != nil:
		return fmt.Errorf("ping from %s: %w", c.LocalAddr(), err)
	case r.Server != c.First().Server:
		return fmt.Errorf("ping from %s answered by %s, first by %s", c.LocalAddr(), r.Server, c.First().Server)
	}
	return nil
}

// prober pings long-lived connections and opens new ones in the
// background until stopped.
type prober struct {
	quit   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	errs   []error
	rounds int
}

func startProber(conns []*netns.Conn, dial func() error) *prober {
	p := &prober{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; i < maxProbeRounds; i++ {
			select {
			case <-p.quit:
				return
			case <-time.After(probePause):
			}
			for _, c := range conns {
				p.record(ping(c))
			}
			p.record(dial())
			p.mu.Lock()
			p.rounds++
			p.mu.Unlock()
		}
	}()
	return p
}

// record keeps the first ten errors.
func (p *prober) record(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil && len(p.errs) < 10 {
		p.errs = append(p.errs, fmt.Errorf("probe round %d: %w", p.rounds+1, err))
	}
}

// stop ends the prober and returns its round count and errors.
func (p *prober) stop() (int, []error) {
	close(p.quit)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rounds, p.errs
}
