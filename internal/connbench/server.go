package connbench

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

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
	fd      int
	addr    netip.AddrPort
	closing atomic.Bool
	wg      sync.WaitGroup
	once    sync.Once
	err     error
}

// Serve listens on addr inside host's namespace and answers every
// connection with one reply, from threads goroutines each blocked in
// accept(2). Blocking system calls, as on the client side, keep Go's
// poller out of the cost of a connection, so the kernel's share (the
// path being measured) is as large as it can be. Close stops it.
func Serve(host *netns.Host, addr netip.AddrPort, threads int) (*Server, error) {
	if threads < 1 {
		return nil, errors.New("connbench: Serve needs at least one thread")
	}
	s := &Server{fd: -1, addr: addr}
	// The socket is created on a thread inside the namespace and belongs
	// to it for good; accepting may then run on any thread.
	err := host.Do(func() error {
		var err error
		s.fd, err = listen(addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connbench: listen on %v in %s: %w", addr, host, err)
	}
	for range threads {
		s.wg.Add(1)
		go s.acceptLoop()
	}
	return s, nil
}

func listen(addr netip.AddrPort) (int, error) {
	family := unix.AF_INET6
	if addr.Addr().Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Bind(fd, sockaddr(addr)); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if err := unix.Listen(fd, 4096); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for !s.closing.Load() {
		fd, _, err := unix.Accept4(s.fd, unix.SOCK_CLOEXEC)
		switch {
		case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EBADF):
			return // shut down
		case err != nil:
			continue // e.g. a connection reset before it was accepted
		}
		answer(fd)
	}
}

// answer reads the request, writes the reply and closes. Errors are the
// client's to count: a connection the server cannot answer fails there.
func answer(fd int) {
	defer unix.Close(fd)
	tv := unix.NsecToTimeval(ioTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return
	}
	buf := make([]byte, len(request))
	for got := 0; got < len(buf); {
		n, err := retryEINTR(func() (int, error) { return unix.Read(fd, buf[got:]) })
		if err != nil || n == 0 {
			return
		}
		got += n
	}
	retryEINTR(func() (int, error) { return unix.Write(fd, reply) })
}

// Close stops accepting, waits for the accept loops (a connection being
// answered is bounded by ioTimeout) and closes the socket.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.closing.Store(true)
		// shutdown wakes every thread blocked in accept(2) with an error.
		s.err = unix.Shutdown(s.fd, unix.SHUT_RDWR)
		s.wg.Wait()
		s.err = errors.Join(s.err, unix.Close(s.fd))
	})
	return s.err
}
