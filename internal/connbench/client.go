package connbench

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/netns"
)

// Result is what the clients of one Run saw.
type Result struct {
	// Conns is the number of connections that completed: connected, sent
	// the request and read the whole reply.
	Conns int
	// Errors counts the connections that failed; FirstErr is one of them.
	Errors   int
	FirstErr error
	// Elapsed is the time the clients ran.
	Elapsed time.Duration
	// CPU is the user and system time of the whole process while the
	// clients ran: the clients, the server if it runs in this process,
	// and the kernel's packet work done in their threads' context (the
	// veth pairs deliver in the sender's softirq). Other processes'
	// load changes Rate far more than it changes CPU per connection.
	CPU time.Duration
	// Connect holds the time connect(2) took for every completed
	// connection: the SYN to SYN-ACK round trip through the path.
	Connect []time.Duration
}

// CPUPerConn is CPU divided by the completed connections.
func (r Result) CPUPerConn() time.Duration {
	if r.Conns == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Conns)
}

// Rate is completed connections per second.
func (r Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Conns) / r.Elapsed.Seconds()
}

// Run connects to dst from host with workers concurrent clients for d and
// returns what they measured. Only an error that stops a client from
// running at all (the namespace cannot be entered) is returned; failed
// connections are counted in the Result.
func Run(host *netns.Host, dst netip.AddrPort, workers int, d time.Duration) (Result, error) {
	if workers < 1 || d <= 0 {
		return Result{}, errors.New("connbench: need at least one worker and a positive duration")
	}
	results := make([]Result, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	cpu0, err := processCPU()
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	deadline := start.Add(d)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Do locks the goroutine to a thread inside the namespace for
			// the whole loop, so every socket is created there.
			errs[i] = host.Do(func() error {
				results[i] = clientLoop(dst, deadline)
				return nil
			})
		}()
	}
	wg.Wait()
	total := Result{Elapsed: time.Since(start)}
	cpu1, err := processCPU()
	if err != nil {
		return total, err
	}
	total.CPU = cpu1 - cpu0
	for i := range workers {
		if errs[i] != nil {
			return total, fmt.Errorf("connbench: client in %s: %w", host, errs[i])
		}
		total.add(results[i])
	}
	return total, nil
}

func (r *Result) add(o Result) {
	r.Conns += o.Conns
	r.Errors += o.Errors
	if r.FirstErr == nil {
		r.FirstErr = o.FirstErr
	}
	r.Connect = append(r.Connect, o.Connect...)
}

// clientLoop runs connections one after the other until deadline.
func clientLoop(dst netip.AddrPort, deadline time.Time) Result {
	var r Result
	sa := sockaddr(dst)
	for time.Now().Before(deadline) {
		took, err := oneConn(dst.Addr().Is4(), sa)
		if err != nil {
			r.Errors++
			if r.FirstErr == nil {
				r.FirstErr = err
			}
			continue
		}
		r.Conns++
		r.Connect = append(r.Connect, took)
	}
	return r
}

func sockaddr(dst netip.AddrPort) unix.Sockaddr {
	if dst.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(dst.Port()), Addr: dst.Addr().As16()}
}

// oneConn makes one connection with blocking system calls (no poller in
// the way of the latency) and returns how long connect took.
func oneConn(ipv4 bool, sa unix.Sockaddr) (time.Duration, error) {
	family := unix.AF_INET6
	if ipv4 {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("socket: %w", err)
	}
	// Closing with a reset leaves no TIME_WAIT behind (see the package doc).
	defer unix.Close(fd)
	if err := setOptions(fd); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := connect(fd, sa); err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	took := time.Since(start)
	if _, err := retryEINTR(func() (int, error) { return unix.Write(fd, request) }); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	return took, readReply(fd)
}

// setOptions makes close send a reset and bounds connect, write and read:
// the kernel applies SO_SNDTIMEO to connect(2).
func setOptions(fd int) error {
	tv := unix.NsecToTimeval(ioTimeout.Nanoseconds())
	for _, set := range []func() error{
		func() error {
			return unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1})
		},
		func() error { return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv) },
		func() error { return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv) },
	} {
		if err := set(); err != nil {
			return fmt.Errorf("setsockopt: %w", err)
		}
	}
	return nil
}

// readReply reads until the whole reply has arrived.
func readReply(fd int) error {
	buf := make([]byte, 16)
	got := 0
	for got < len(reply) {
		n, err := retryEINTR(func() (int, error) { return unix.Read(fd, buf[got:]) })
		switch {
		case err != nil:
			return fmt.Errorf("read: %w", err)
		case n == 0:
			return fmt.Errorf("read: connection closed after %d of %d bytes", got, len(reply))
		}
		got += n
	}
	return nil
}

// processCPU is the user plus system time of this process so far.
func processCPU() (time.Duration, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("connbench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// connect connects fd to sa. A connect a signal interrupted (Go's runtime
// sends them; a socket with a timeout is not restarted by SA_RESTART) goes
// on in the kernel and cannot be repeated: it is waited for instead, and
// its outcome read from SO_ERROR. Counted as failures, such connects made
// about one connection in 10^5 fail, and the smoke test with them.
func connect(fd int, sa unix.Sockaddr) error {
	err := unix.Connect(fd, sa)
	if err != unix.EINTR {
		return err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	deadline := time.Now().Add(ioTimeout)
	for {
		n, err := unix.Poll(pfd, int(max(0, time.Until(deadline).Milliseconds())))
		switch {
		case err == unix.EINTR && time.Now().Before(deadline):
			continue
		case err != nil:
			return err
		case n == 0:
			return unix.ETIMEDOUT
		}
		soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			return err
		}
		if soErr != 0 {
			return unix.Errno(soErr)
		}
		return nil
	}
}

// retryEINTR repeats a read or write that a signal interrupted (a socket
// with a timeout is not restarted by SA_RESTART, and Go's runtime sends
// signals), a few times.
func retryEINTR(call func() (int, error)) (int, error) {
	for range 3 {
		n, err := call()
		if err != unix.EINTR {
			return n, err
		}
	}
	return call()
}
