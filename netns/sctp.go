package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The Go standard library has no SCTP, so SCTP sockets are raw
// SOCK_STREAM/IPPROTO_SCTP (one-to-one style) descriptors wrapped in
// *os.File, which gives them the runtime poller and deadlines.

// SCTPSupported reports whether the kernel can create SCTP sockets.
func SCTPSupported() bool { return CheckSCTP() == nil }

// CheckSCTP returns nil when the kernel supports SCTP, else an error wrapping
// ErrSCTPUnsupported that says why, fit for t.Skip.
func CheckSCTP() error {
	fd, err := sctpSocket(4)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// sctpSocket creates a non-blocking SCTP socket of the given family in the
// calling thread's namespace.
func sctpSocket(family int) (int, error) {
	af := unix.AF_INET
	if family == 6 {
		af = unix.AF_INET6
	}
	fd, err := unix.Socket(af, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	switch {
	case errors.Is(err, unix.EPROTONOSUPPORT), errors.Is(err, unix.ESOCKTNOSUPPORT):
		return -1, fmt.Errorf("%w: socket(IPPROTO_SCTP): %w", ErrSCTPUnsupported, err)
	case err != nil:
		return -1, fmt.Errorf("socket(IPPROTO_SCTP): %w", err)
	}
	return fd, nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if familyOf(ap.Addr()) == 4 {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().Unmap().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func addrPortOf(sa unix.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}

func localAddrPort(fd int) netip.AddrPort {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}
	}
	return addrPortOf(sa)
}

// sctpListener is a listening SCTP socket.
type sctpListener struct {
	f  *os.File
	rc syscall.RawConn
}

// listenSCTP must run inside the target namespace (Host.Do).
func listenSCTP(ap netip.AddrPort) (*sctpListener, error) {
	fd, err := sctpSocket(familyOf(ap.Addr()))
	if err != nil {
		return nil, err
	}
	if err := setupListener(fd, ap); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "sctp-listener "+ap.String())
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sctpListener{f: f, rc: rc}, nil
}

func setupListener(fd int, ap netip.AddrPort) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("SO_REUSEADDR: %w", err)
	}
	if err := unix.Bind(fd, sockaddr(ap)); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return nil
}

func (l *sctpListener) Close() error { return l.f.Close() }

func (l *sctpListener) accept() (io.ReadWriteCloser, netip.AddrPort, netip.AddrPort, error) {
	var nfd int
	var sa unix.Sockaddr
	var aerr error
	err := l.rc.Read(func(fd uintptr) bool {
		nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return !errors.Is(aerr, unix.EAGAIN)
	})
	if err = errors.Join(err, aerr); err != nil {
		return nil, netip.AddrPort{}, netip.AddrPort{}, err
	}
	c := newSCTPConn(nfd)
	return c, c.local, addrPortOf(sa), nil
}

// sctpConn is a connected SCTP socket.
type sctpConn struct {
	*os.File
	local netip.AddrPort
}

func newSCTPConn(fd int) *sctpConn {
	return &sctpConn{File: os.NewFile(uintptr(fd), "sctp"), local: localAddrPort(fd)}
}

// dialSCTP must run inside the source namespace (Host.Do).
func dialSCTP(ctx context.Context, dst netip.AddrPort) (*sctpConn, error) {
	fd, err := sctpSocket(familyOf(dst.Addr()))
	if err != nil {
		return nil, err
	}
	err = unix.Connect(fd, sockaddr(dst))
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	c := newSCTPConn(fd)
	if err := c.waitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	c.local = localAddrPort(fd)
	return c, nil
}

// waitConnected waits until the non-blocking connect completes or fails.
func (c *sctpConn) waitConnected(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Write(func(fd uintptr) bool {
		soerr, gerr := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		switch {
		case gerr != nil:
			cerr = gerr
		case soerr != 0:
			cerr = os.NewSyscallError("connect", syscall.Errno(soerr))
		default:
			_, perr := unix.Getpeername(int(fd))
			return perr == nil // not yet connected: wait for writability
		}
		return true
	})
	if err := errors.Join(err, cerr); err != nil {
		return err
	}
	return c.SetDeadline(time.Time{})
}
