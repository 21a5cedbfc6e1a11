package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

var dnsIP = netip.MustParseAddr("10.96.0.53")

// dns is the UDP Service of the conntrack cases: 10.96.0.53:53 -> :8080.
func dns(eps ...endpoint) service {
	return service{name: "dns", clusterIP: dnsIP, proto: "UDP", port: 53, targetPort: echoPort, endpoints: eps}
}

// TestUDPEndpointSwap: one UDP socket keeps sending to a Service whose only
// endpoint is replaced; its datagrams reach the new endpoint within
// changeLimit. The old pod still answers, so only the agent's conntrack
// cleanup can move the flow.
func TestUDPEndpointSwap(t *testing.T) {
	forEachBackend(t, testUDPEndpointSwap)
}

func testUDPEndpointSwap(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1, pod2})
	f.write(t, dns(on("node-1", pod1)...))
	a := startAgent(t, f.lab, f.dir, agentOpts{backend: backend})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	dst := netip.AddrPortFrom(dnsIP, 53)
	within(ctx, t, "first sync", time.Now(), startLimit, answeredBy(f.lab.Client, netns.UDP, dst, pod1))

	conn, err := f.lab.Client.OpenConnProto(ctx, netns.UDP, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Timeout = probeTimeout
	if err := labtest.Steady(ctx, 300*time.Millisecond, pollInterval, pingServedBy(conn.Ping, pod1)); err != nil {
		t.Fatalf("before the change: %v", err)
	}
	since := f.writer(t, dns(on("node-1", pod2)...))()
	within(ctx, t, "swap the endpoint (same socket)", since, changeLimit, pingServedBy(conn.Ping, pod2))
	if err := positive(ctx, a, `kubeproxy_conntrack_reconciler_deleted_entries_total{ip_family="IPv4"}`); err != nil {
		t.Error(err)
	}
}

// TestUDPFirstEndpoint: a UDP Service without endpoints refuses, and the
// same socket is answered within changeLimit once an endpoint appears.
func TestUDPFirstEndpoint(t *testing.T) {
	forEachBackend(t, testUDPFirstEndpoint)
}

func testUDPFirstEndpoint(t *testing.T, backend string) {
	f := newFixture(t, []netip.Addr{pod1})
	f.write(t, dns())
	startAgent(t, f.lab, f.dir, agentOpts{backend: backend})
	ctx, cancel := context.WithTimeout(t.Context(), testLimit)
	defer cancel()
	sock := openUDP(t, f.lab.Client, netip.AddrPortFrom(dnsIP, 53))
	within(ctx, t, "first sync: refused", time.Now(), startLimit, func(context.Context) error {
		if _, err := sock.ping(); !netns.IsRefused(err) {
			return fmt.Errorf("want refused, got %v", err)
		}
		return nil
	})
	since := f.writer(t, dns(on("node-1", pod1)...))()
	within(ctx, t, "first endpoint (same socket)", since, changeLimit, pingServedBy(sock.ping, pod1))
}

// pingServedBy checks that one ping is answered by want.
func pingServedBy(ping func() (netns.Reply, error), want netip.Addr) func(context.Context) error {
	return func(context.Context) error {
		r, err := ping()
		if err != nil {
			return err
		}
		if r.Server.Addr() != want {
			return fmt.Errorf("answered by %v, want %v", r.Server, want)
		}
		return nil
	}
}

// udpSocket is a connected UDP socket that, unlike netns.Conn, may be
// opened towards a destination that does not answer yet.
type udpSocket struct{ c net.Conn }

func openUDP(t *testing.T, h *netns.Host, dst netip.AddrPort) *udpSocket {
	t.Helper()
	var c net.Conn
	err := h.Do(func() error {
		var err error
		c, err = net.Dial("udp", dst.String())
		return err
	})
	if err != nil {
		t.Fatalf("UDP socket in %s: %v", h, err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpSocket{c: c}
}

// ping sends one datagram and reads one reply within probeTimeout.
func (s *udpSocket) ping() (netns.Reply, error) {
	if err := s.c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return netns.Reply{}, err
	}
	if _, err := s.c.Write([]byte("ping\n")); err != nil {
		return netns.Reply{}, fmt.Errorf("send: %w", err)
	}
	buf := make([]byte, 512)
	n, err := s.c.Read(buf)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return netns.Reply{}, fmt.Errorf("receive: %w: %w", netns.ErrRefused, err)
		}
		return netns.Reply{}, fmt.Errorf("receive: %w", err)
	}
	return netns.ParseReply(string(buf[:n]))
}
