package nfnl

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Kernel is what the nftables backend needs of nf_tables: send one batch
// atomically, read one table back, and tell the ruleset generation. Conn
// implements it over netlink; an in-memory kernel for tests can implement
// it too (Batch.Messages gives the messages a batch carries).
type Kernel interface {
	// Send sends b as one transaction (all of it or nothing) and empties
	// b. The error names the message the kernel refused, if it says.
	Send(b *Batch) error
	// Read starts reading table of family fam back. Every answer of one
	// Reader comes from one ruleset generation, or the read fails.
	Read(fam Family, table string) (Reader, error)
	// Generation is the ruleset generation: the number of transactions
	// committed in the namespace.
	Generation() (uint32, error)
	Close() error
}

// Reader reads one table back, one kind of object at a time, so that the
// caller decides what it needs (elements of some sets, rules of some
// chains) from what it has read so far.
type Reader interface {
	// Table returns the table's header; nil, nil when there is no table.
	Table() (*Table, error)
	// Chains adds the declarations of t's chains (binding chains left out).
	Chains(t *Table) error
	// Sets adds the declarations of t's sets.
	Sets(t *Table) error
	// Elems fills s.Elems.
	Elems(s *Set) error
	// EachElem calls fn with each element of s without keeping them: the
	// element's byte slices are valid during the call only (a big set
	// read back this way costs no memory per element).
	EachElem(s *Set, fn func(Elem)) error
	// Rules calls fn with the expressions and user data of each rule of
	// c, in order, without keeping them.
	Rules(c *Chain, fn func(exprs, udata []byte)) error
	// CountRules and CountElems count a chain's rules and a set's
	// elements without keeping them.
	CountRules(c *Chain) (int, error)
	CountElems(s *Set) (int, error)
	Close() error
}

// Family is a netfilter family number (unix.NFPROTO_IPV4, NFPROTO_IPV6).
type Family uint8

const (
	IPv4 Family = unix.NFPROTO_IPV4
	IPv6 Family = unix.NFPROTO_IPV6
)

// sockBuf is the forced socket buffer size: a full sync of a large cluster
// is one batch of many megabytes, and the kernel queues one ack per message
// before we read any of them.
const sockBuf = 1 << 30

// Conn is a Kernel over NETLINK_NETFILTER sockets in one network
// namespace: one for batches, one for the generation, and one per Read.
type Conn struct {
	netnsFd int           // 0: the caller's namespace
	tx      *netlink.Conn // batches
	gen     *netlink.Conn // ruleset generation
	seq     uint32        // last sequence number sent on tx
}

var _ Kernel = (*Conn)(nil)

// Dial opens the sockets in the namespace of netnsFd (0: the caller's).
func Dial(netnsFd int) (*Conn, error) {
	c := &Conn{netnsFd: netnsFd}
	tx, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: netnsFd})
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	for _, o := range []netlink.ConnOption{netlink.CapAcknowledge, netlink.ExtendedAcknowledge} {
		_ = tx.SetOption(o, true) // older kernels: errors are only less detailed
	}
	if err := bigBuffers(tx); err != nil {
		tx.Close()
		return nil, err
	}
	c.tx = tx
	if c.gen, err = netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: netnsFd}); err != nil {
		tx.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	return c, nil
}

// Close closes the sockets.
func (c *Conn) Close() error { return errors.Join(c.tx.Close(), c.gen.Close()) }

func bigBuffers(c *netlink.Conn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range []int{unix.SO_SNDBUFFORCE, unix.SO_RCVBUFFORCE} {
			if e := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt, sockBuf); e != nil && serr == nil {
				serr = fmt.Errorf("setsockopt %d: %w", opt, e)
			}
		}
	})
	return errors.Join(err, serr)
}
