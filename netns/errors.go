package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// ErrRefused means the destination answered "no": a TCP RST, or an ICMP
// port/host/network unreachable or administratively prohibited error. This is
// what a REJECT rule, or a port nobody listens on, looks like.
var ErrRefused = errors.New("refused")

// ErrTimeout means nothing answered before the deadline: what a DROP rule
// looks like. A packet dropped by netfilter in the sender's own OUTPUT path
// (EPERM) counts as a timeout too: it is a DROP, only noticed earlier.
var ErrTimeout = errors.New("no answer before the deadline")

// ErrSCTPUnsupported is returned (wrapped) by SCTP servers and dials when the
// kernel has no SCTP support.
var ErrSCTPUnsupported = errors.New("SCTP not supported by this kernel")

// refusedErrnos are the errors the kernel reports for a RST or an ICMP error.
// ICMPv6 administratively prohibited maps to EACCES.
var refusedErrnos = []syscall.Errno{
	syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTUNREACH,
	syscall.ENETUNREACH, syscall.EACCES,
}

// IsRefused reports whether err means the destination actively refused
// (see ErrRefused).
//
// Timing: a TCP RST and ICMP errors for UDP and IPv4 TCP surface at once.
// IPv6 TCP is slower: the kernel (seen on 6.18) ignores the ICMPv6 error for
// the first SYN and aborts the connect only on the error for the
// retransmitted SYN, about one second later. Dial timeouts under ~1.5s thus
// turn an IPv6 TCP REJECT by ICMPv6 into a timeout; DefaultTimeout is safe.
func IsRefused(err error) bool {
	if errors.Is(err, ErrRefused) {
		return true
	}
	for _, errno := range refusedErrnos {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

// IsTimeout reports whether err means no answer came in time (see ErrTimeout).
func IsTimeout(err error) bool {
	if errors.Is(err, ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, syscall.EPERM) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// classify wraps err with ErrRefused or ErrTimeout when it is one of them,
// keeping the original error in the chain. Cancellation stays as is.
func classify(ctx context.Context, what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: %w", what, ctx.Err())
	case IsRefused(err):
		return fmt.Errorf("%s: %w: %w", what, ErrRefused, err)
	case IsTimeout(err):
		return fmt.Errorf("%s: %w: %w", what, ErrTimeout, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
