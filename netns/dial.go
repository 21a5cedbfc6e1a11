package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// DefaultTimeout bounds a dial or a Ping when no timeout is given.
const DefaultTimeout = 2 * time.Second

// Reply is what an echo server answered.
type Reply struct {
	// Server is the address that answered: the pod IP and port after any DNAT.
	Server netip.AddrPort
	// SeenSource is the client address as the server saw it: the client's
	// own address, or the address it was masqueraded (SNATed) to.
	SeenSource netip.AddrPort
}

// String formats r as the echo servers send it, without the newline.
func (r Reply) String() string { return r.Server.String() + " " + r.SeenSource.String() }

// ParseReply parses one reply line of an echo server.
func ParseReply(line string) (Reply, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return Reply{}, fmt.Errorf("netns: malformed reply %q", line)
	}
	server, err1 := netip.ParseAddrPort(f[0])
	seen, err2 := netip.ParseAddrPort(f[1])
	if err := errors.Join(err1, err2); err != nil {
		return Reply{}, fmt.Errorf("netns: malformed reply %q: %w", line, err)
	}
	return Reply{Server: server, SeenSource: seen}, nil
}

// Dial connects from h to dst, reads one reply and closes. The error wraps
// ErrRefused or ErrTimeout when that is what happened (see IsRefused,
// IsTimeout). timeout <= 0 means DefaultTimeout; ctx may shorten it.
func (h *Host) Dial(ctx context.Context, proto Proto, dst netip.AddrPort, timeout time.Duration) (Reply, error) {
	c, err := h.openConn(ctx, proto, dst, timeout)
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	return c.First(), nil
}

// Conn is a long-lived connection to an echo server, for continuity tests:
// each Ping must keep reaching the same server over the same flow.
type Conn struct {
	// Timeout bounds each Ping; DefaultTimeout when zero.
	Timeout time.Duration

	host    *Host
	proto   Proto
	dst     netip.AddrPort
	local   netip.AddrPort
	rw      deadlineConn
	r       *bufio.Reader // stream protocols only
	first   Reply
	tracked bool // by the Lab, which closes it
	closer  sync.Once
}

// deadlineConn is what net.Conn and the SCTP socket have in common.
type deadlineConn interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

// OpenConn opens a long-lived TCP connection from h to dst and reads the
// server's first reply.
func (h *Host) OpenConn(ctx context.Context, dst netip.AddrPort) (*Conn, error) {
	return h.OpenConnProto(ctx, TCP, dst)
}

// OpenConnProto is OpenConn for any protocol. A UDP Conn is a connected UDP
// socket (one conntrack flow); opening it sends a first ping.
func (h *Host) OpenConnProto(ctx context.Context, proto Proto, dst netip.AddrPort) (*Conn, error) {
	c, err := h.openConn(ctx, proto, dst, 0)
	if err != nil {
		return nil, err
	}
	if !h.lab.track(c) {
		c.Close()
		return nil, errors.New("netns: lab is closed")
	}
	c.tracked = true
	return c, nil
}

func (h *Host) openConn(ctx context.Context, proto Proto, dst netip.AddrPort, timeout time.Duration) (*Conn, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	what := fmt.Sprintf("%s %s from %s", proto, dst, h.name)
	c := &Conn{host: h, proto: proto, dst: dst}
	if err := c.connect(ctx); err != nil {
		return nil, classify(ctx, what, err)
	}
	deadline, _ := ctx.Deadline()
	stop := context.AfterFunc(ctx, func() { c.rw.SetDeadline(time.Now()) })
	defer stop()
	r, err := c.exchange(deadline, proto == UDP)
	if err != nil {
		c.Close()
		return nil, classify(ctx, what, err)
	}
	c.first = r
	return c, nil
}

// connect creates the socket inside h's namespace and connects it.
func (c *Conn) connect(ctx context.Context) error {
	return c.host.Do(func() error {
		switch c.proto {
		case TCP, UDP:
			var d net.Dialer
			nc, err := d.DialContext(ctx, network(c.proto, c.dst), c.dst.String())
			if err != nil {
				return err
			}
			c.rw, c.local = nc, unmapAP(nc.LocalAddr())
			if c.proto == TCP {
				c.r = bufio.NewReader(nc)
			}
			return nil
		case SCTP:
			sc, err := dialSCTP(ctx, c.dst)
			if err != nil {
				return err
			}
			c.rw, c.local, c.r = sc, sc.local, bufio.NewReader(sc)
			return nil
		}
		return fmt.Errorf("unknown protocol %q", c.proto)
	})
}

// exchange optionally sends a ping line, then reads one reply before deadline.
func (c *Conn) exchange(deadline time.Time, send bool) (Reply, error) {
	if err := c.rw.SetDeadline(deadline); err != nil {
		return Reply{}, err
	}
	if send {
		if _, err := c.rw.Write([]byte("ping\n")); err != nil {
			return Reply{}, err
		}
	}
	line, err := c.readLine()
	if err != nil {
		return Reply{}, err
	}
	return ParseReply(line)
}

func (c *Conn) readLine() (string, error) {
	if c.r != nil {
		return c.r.ReadString('\n')
	}
	buf := make([]byte, 1024)
	n, err := c.rw.Read(buf)
	return string(buf[:n]), err
}

// Ping sends one line and reads the server's reply. The error wraps
// ErrRefused (e.g. the flow was reset) or ErrTimeout.
func (c *Conn) Ping() (Reply, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	r, err := c.exchange(time.Now().Add(timeout), true)
	if err != nil {
		what := fmt.Sprintf("ping %s %s from %s", c.proto, c.dst, c.host.name)
		return Reply{}, classify(context.Background(), what, err)
	}
	return r, nil
}

// First returns the reply read when the connection was opened.
func (c *Conn) First() Reply { return c.first }

// LocalAddr returns the client-side address of the connection.
func (c *Conn) LocalAddr() netip.AddrPort { return c.local }

// Close closes the connection. It is idempotent.
func (c *Conn) Close() error {
	var err error
	c.closer.Do(func() {
		err = c.rw.Close()
		if c.tracked {
			c.host.lab.untrack(c)
		}
	})
	return err
}
