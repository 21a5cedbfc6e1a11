package flowtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/svcnat/svcnat/netns"
	"github.com/svcnat/svcnat/synth"
)

// udpResend is the UDP retransmission interval.
const udpResend = 200 * time.Millisecond

// dial connects from h to dst with src as the local address, reads the echo
// server's first reply and closes. Binding src matters for a node with
// several addresses: the flow table names the source. Errors keep the
// kernel's error in the chain, so netns.IsRefused and netns.IsTimeout
// classify them.
func dial(ctx context.Context, h *netns.Host, proto synth.Protocol, src netip.Addr, dst netip.AddrPort, timeout time.Duration) (netns.Reply, error) {
	what := fmt.Sprintf("%s %s -> %s", proto, src, dst)
	if proto == synth.SCTP {
		// The kit's SCTP dial picks its own source address.
		r, err := h.Dial(ctx, netns.SCTP, dst, timeout)
		return r, wrap(what, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var c net.Conn
	err := h.Do(func() (err error) {
		d := net.Dialer{LocalAddr: localAddr(proto, src)}
		c, err = d.DialContext(ctx, network(proto, dst.Addr()), dst.String())
		return err
	})
	if err != nil {
		return netns.Reply{}, wrap(what, err)
	}
	defer c.Close()
	r, err := exchange(ctx, c, proto)
	return r, wrap(what, err)
}

// exchange reads one reply line. UDP sends a datagram first, and again
// every udpResend while nothing came back: a lost or rate-limited answer
// (ICMP errors are limited to about one per second per peer) is retried
// the way a real client would.
func exchange(ctx context.Context, c net.Conn, proto synth.Protocol) (netns.Reply, error) {
	deadline, _ := ctx.Deadline()
	if proto != synth.UDP {
		if err := c.SetDeadline(deadline); err != nil {
			return netns.Reply{}, err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return netns.Reply{}, err
		}
		return netns.ParseReply(line)
	}
	buf := make([]byte, 512)
	for {
		if _, err := c.Write([]byte("ping\n")); err != nil {
			return netns.Reply{}, err
		}
		wait := time.Now().Add(udpResend)
		if wait.After(deadline) {
			wait = deadline
		}
		if err := c.SetReadDeadline(wait); err != nil {
			return netns.Reply{}, err
		}
		n, err := c.Read(buf)
		if err == nil {
			return netns.ParseReply(string(buf[:n]))
		}
		if !netns.IsTimeout(err) || !time.Now().Before(deadline) {
			return netns.Reply{}, err
		}
	}
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func localAddr(proto synth.Protocol, src netip.Addr) net.Addr {
	ap := netip.AddrPortFrom(src, 0)
	if proto == synth.UDP {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}

func network(proto synth.Protocol, a netip.Addr) string {
	if a.Unmap().Is4() {
		return string(proto) + "4"
	}
	return string(proto) + "6"
}
