package connbench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// request and reply are the whole protocol: small enough to fit in one
// segment each, so every connection is the same few packets.
var (
	request = []byte("GET\n")
	reply   = []byte("OK\n")
)

// ioTimeout bounds every read, write and connect of the load, so that a
// path that drops packets fails a connection instead of hanging a round.
const ioTimeout = 2 * time.Second

// Server is an accept loop started by Serve.
type Server struct {
	ln   *net.TCPListener
	wg   sync.WaitGroup
	once sync.Once
}

// Serve listens on addr inside host's namespace and answers every
// connection with one reply. Close stops it.
func Serve(host *netns.Host, addr netip.AddrPort) (*Server, error) {
	var ln *net.TCPListener
	// The listening socket is created on a thread inside the namespace and
	// stays there; accepting may then run on any goroutine.
	err := host.Do(func() error {
		var err error
		ln, err = net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connbench: listen on %v in %s: %w", addr, host, err)
	}
	s := &Server{ln: ln}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.ln.Addr().(*net.TCPAddr).AddrPort() }

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. a connection reset before it was accepted
		}
		s.wg.Add(1)
		go s.answer(c)
	}
}

// answer reads the request and writes the reply. Errors are the client's
// to count: a connection the server cannot answer fails on the client.
func (s *Server) answer(c *net.TCPConn) {
	defer s.wg.Done()
	defer c.Close()
	c.SetDeadline(time.Now().Add(ioTimeout))
	buf := make([]byte, len(request))
	if _, err := io.ReadFull(c, buf); err != nil {
		return
	}
	c.Write(reply)
}

// Close stops accepting and waits for the connections being answered
// (each bounded by ioTimeout).
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		err = s.ln.Close()
		s.wg.Wait()
	})
	return err
}
