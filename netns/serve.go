package netns

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
)

// Proto is a transport protocol of the echo servers and dials.
type Proto string

// The supported protocols; the values match Kubernetes' lowercased.
const (
	TCP  Proto = "tcp"
	UDP  Proto = "udp"
	SCTP Proto = "sctp"
)

// Server is an echo server started by Host.Serve. It answers on every
// address of its host, on one port.
//
// Protocol: TCP and SCTP send one reply line when a connection is accepted,
// then one reply line per line received, until the client closes. UDP sends
// one reply datagram per datagram. A reply line is
//
//	<server ip:port> <seen source ip:port>\n
//
// e.g. "10.244.1.5:8080 192.168.1.10:41234" or "[fd00:244:1::5]:8080 [fd00:1::10]:41234",
// parsed by ParseReply.
type Server struct {
	host  *Host
	proto Proto
	addrs []netip.AddrPort

	mu        sync.Mutex
	closers   []io.Closer // listeners and packet sockets
	conns     map[io.Closer]struct{}
	closed    bool
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// streamListener is what TCP and SCTP listeners offer the accept loop.
type streamListener interface {
	io.Closer
	accept() (conn io.ReadWriteCloser, server, seen netip.AddrPort, err error)
}

// Serve starts an echo server for proto on port on every address of h. The
// sockets are created inside h's namespace, and the server stops when the
// Lab closes or Close is called. For SCTP on a kernel without it, the error
// wraps ErrSCTPUnsupported.
func (h *Host) Serve(proto Proto, port uint16) (*Server, error) {
	if port == 0 {
		return nil, errors.New("netns: Serve needs a non-zero port")
	}
	if len(h.addrs) == 0 {
		return nil, fmt.Errorf("netns: %s has no address to serve on", h.name)
	}
	s := &Server{host: h, proto: proto, conns: map[io.Closer]struct{}{}}
	for _, a := range h.addrs {
		ap := netip.AddrPortFrom(a, port)
		if err := s.listen(ap); err != nil {
			s.Close()
			return nil, fmt.Errorf("netns: serve %s on %s in %s: %w", proto, ap, h.name, err)
		}
		s.addrs = append(s.addrs, ap)
	}
	if !h.lab.track(s) {
		s.Close()
		return nil, errors.New("netns: lab is closed")
	}
	return s, nil
}

// Addrs returns the addresses the server listens on.
func (s *Server) Addrs() []netip.AddrPort { return append([]netip.AddrPort(nil), s.addrs...) }

// Host returns the host the server runs in.
func (s *Server) Host() *Host { return s.host }

// listen creates one socket in the host's namespace and starts its loop.
func (s *Server) listen(ap netip.AddrPort) error {
	switch s.proto {
	case TCP:
		var ln *net.TCPListener
		err := s.host.Do(func() (err error) {
			ln, err = net.ListenTCP(network(TCP, ap), net.TCPAddrFromAddrPort(ap))
			return err
		})
		return s.startStream(tcpListener{ln}, err)
	case SCTP:
		var ln *sctpListener
		err := s.host.Do(func() (err error) {
			ln, err = listenSCTP(ap)
			return err
		})
		return s.startStream(ln, err)
	case UDP:
		var pc *net.UDPConn
		err := s.host.Do(func() (err error) {
			pc, err = net.ListenUDP(network(UDP, ap), net.UDPAddrFromAddrPort(ap))
			return err
		})
		if err != nil {
			return err
		}
		s.start(pc, func() { s.serveUDP(pc, ap) })
		return nil
	}
	return fmt.Errorf("unknown protocol %q", s.proto)
}

func (s *Server) startStream(ln streamListener, err error) error {
	if err != nil {
		return err
	}
	s.start(ln, func() { s.acceptLoop(ln) })
	return nil
}

// start registers c for Close and runs loop in a goroutine.
func (s *Server) start(c io.Closer, loop func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closers = append(s.closers, c)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		loop()
	}()
}

func network(p Proto, ap netip.AddrPort) string {
	if familyOf(ap.Addr()) == 6 {
		return string(p) + "6"
	}
	return string(p) + "4"
}

func (s *Server) acceptLoop(ln streamListener) {
	for {
		conn, server, seen, err := ln.accept()
		if err != nil {
			return // closed; transient accept errors are not expected here
		}
		if !s.trackConn(conn) {
			conn.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrackConn(conn)
			serveStream(conn, replyLine(server, seen))
		}()
	}
}

// serveStream sends the reply line once, then once per line received.
func serveStream(conn io.ReadWriteCloser, reply []byte) {
	defer conn.Close()
	if _, err := conn.Write(reply); err != nil {
		return
	}
	r := bufio.NewReader(conn)
	for {
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		if _, err := conn.Write(reply); err != nil {
			return
		}
	}
}

func (s *Server) serveUDP(pc *net.UDPConn, local netip.AddrPort) {
	buf := make([]byte, 64<<10)
	for {
		_, from, err := pc.ReadFromUDPAddrPort(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue // e.g. an ICMP error queued on the socket
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		pc.WriteToUDPAddrPort(replyLine(local, from), from) // best effort, like any UDP server
	}
}

func replyLine(server, seen netip.AddrPort) []byte {
	return []byte(Reply{Server: server, SeenSource: seen}.String() + "\n")
}

func (s *Server) trackConn(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrackConn(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// Close stops the server: listeners and open connections are closed, and
// Close waits for its goroutines. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for _, c := range s.closers {
			c.Close()
		}
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.host.lab.untrack(s)
	})
	return nil
}

// tcpListener adapts net.TCPListener to streamListener.
type tcpListener struct{ *net.TCPListener }

func (l tcpListener) accept() (io.ReadWriteCloser, netip.AddrPort, netip.AddrPort, error) {
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, netip.AddrPort{}, netip.AddrPort{}, err
	}
	return c, unmapAP(c.LocalAddr()), unmapAP(c.RemoteAddr()), nil
}

// unmapAP converts a TCP or UDP net.Addr to a netip.AddrPort with any
// IPv4-mapped IPv6 address unmapped.
func unmapAP(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	switch a := a.(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	case *net.UDPAddr:
		ap = a.AddrPort()
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
