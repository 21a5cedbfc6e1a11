package nfnlfake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend/nftables/internal/nfnl"
)

// Kernel is an nf_tables kernel held in memory. It implements nfnl.Kernel:
// Send applies a batch all or nothing, Read gives tables back through the
// same Reader interface as the netlink one, Generation counts committed
// batches. It is safe for concurrent use.
type Kernel struct {
	mu     sync.Mutex
	rs     *ruleset
	gen    uint32
	closed bool
}

var _ nfnl.Kernel = (*Kernel)(nil)

// New returns a kernel with no tables.
func New() *Kernel { return &Kernel{rs: &ruleset{}} }

// Send implements nfnl.Kernel. Every message of b is applied to a copy of
// the ruleset; the copy replaces it only when all of them succeeded. A
// refused batch changes nothing and returns an error that names the
// message (its position counts the batch begin marker as 0, like the
// kernel's) and wraps the errno the kernel would return. b is emptied
// either way.
func (k *Kernel) Send(b *nfnl.Batch) error {
	defer b.Reset()
	if err := b.Err(); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return errors.New("nfnlfake: kernel closed")
	}
	next := k.rs.clone()
	tx := &txn{rs: next}
	i, err := 0, error(nil)
	b.Messages(func(msg []byte) {
		i++
		if err == nil {
			if e := tx.apply(msg); e != nil {
				err = fmt.Errorf("batch message %d (%s): %w", i, nfnl.Describe(msg), e)
			}
		}
	})
	if err != nil {
		return err
	}
	k.rs = next
	k.gen++
	return nil
}

// Generation implements nfnl.Kernel: the number of batches committed.
func (k *Kernel) Generation() (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.gen, nil
}

// Close implements nfnl.Kernel. The tables stay readable through
// Listing, so a test can look at what a closed backend left.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	return nil
}

// snapshot is the current ruleset; it is never changed afterwards (a
// batch replaces it), so readers need no lock.
func (k *Kernel) snapshot() *ruleset {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rs
}

// kerr is a refusal: the errno the kernel returns, and why, the way its
// extended ack would say it.
type kerr struct {
	errno syscall.Errno
	why   string
}

func (e *kerr) Error() string { return e.why + ": " + e.errno.Error() }
func (e *kerr) Unwrap() error { return e.errno }

func refuse(errno syscall.Errno, format string, args ...any) error {
	return &kerr{errno: errno, why: fmt.Sprintf(format, args...)}
}

// header is what the fake reads of a message's headers.
type header struct {
	typ   uint16 // nf_tables message type (low byte of the netlink type)
	flags uint16
	fam   nfnl.Family
	attrs []byte
}

func parseHeader(msg []byte) (header, error) {
	if len(msg) < unix.NLMSG_HDRLEN+4 {
		return header{}, refuse(unix.EINVAL, "short message")
	}
	typ := binary.NativeEndian.Uint16(msg[4:])
	if typ>>8 != unix.NFNL_SUBSYS_NFTABLES {
		return header{}, refuse(unix.EINVAL, "not an nf_tables message")
	}
	return header{
		typ:   typ & 0xff,
		flags: binary.NativeEndian.Uint16(msg[6:]),
		fam:   nfnl.Family(msg[unix.NLMSG_HDRLEN]),
		attrs: msg[unix.NLMSG_HDRLEN+4:],
	}, nil
}
