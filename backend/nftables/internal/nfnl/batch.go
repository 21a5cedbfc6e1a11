package nfnl

import (
	"encoding/binary"
	"fmt"
	"iter"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Batch collects the messages of one transaction, headers included, in the
// form they are sent. google/nftables marshals the objects (Objects), but
// its Flush asks the kernel for an ack and an echo of every message and
// reads them back one recvmsg (two syscalls and a 4 KiB buffer) at a time:
// at 10k Services that was 40% of a full sync's CPU and most of its
// garbage. Its only seam for getting the marshalled messages is
// WithTestDial (doc.go says why and how to leave it), so its Conn "dials"
// capture, which appends the messages here; Conn.Send then asks for one
// ack, on the last message, and reads only errors and that ack.
//
// The messages are kept in chunks of about chunkLen bytes (a message never
// spans two), sent together by one sendmsg: a first sync of 10k Services
// encodes ≈ 7 MB, and one growing buffer held its old and new arrays at
// once each time it grew. A Batch is reused from one transaction to the
// next, its last chunk included (see clear).
type Batch struct {
	lib    *nftables.Conn // marshals; never touches a real socket
	full   [][]byte       // filled chunks, in order; the batch begin marker opens the first
	buf    []byte         // the chunk being filled
	n      int            // messages, markers not counted
	last   int            // offset of the last message in buf
	queued int            // objects handed to lib since the last drain
	err    error          // first capture error
}

// chunkLen is the size past which the next message starts a new chunk;
// a chunk is allocated with room for one more message of up to
// chunkSlack bytes (element messages stay below 64 KiB; a bigger message
// only makes its chunk grow).
const (
	chunkLen   = 256 << 10
	chunkSlack = 64 << 10
)

// drainEvery bounds the objects google/nftables holds before they are
// copied into buf, so the batch is not held twice in memory.
const drainEvery = 1024

// NewBatch returns an empty batch.
func NewBatch() (*Batch, error) {
	b := &Batch{}
	lib, err := nftables.New(nftables.WithTestDial(b.capture))
	if err != nil {
		return nil, fmt.Errorf("nftables connection: %w", err)
	}
	b.lib = lib
	return b, nil
}

// Objects is the google/nftables connection whose queued objects go into
// the batch. Call Queued after handing it objects.
func (b *Batch) Objects() *nftables.Conn { return b.lib }

// Queued records that n objects were handed to Objects; every drainEvery
// of them are moved into the batch.
func (b *Batch) Queued(n int) {
	if b.queued += n; b.queued >= drainEvery {
		b.drain()
	}
}

// Append adds a message of our own (typ, flags, nfgenmsg header and
// attributes in data) after everything queued before it.
func (b *Batch) Append(typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) {
	b.drain()
	b.append(typ, flags, data)
}

// Len is the number of messages in the batch, batch markers not counted.
func (b *Batch) Len() int {
	b.drain()
	return b.n
}

// Err is the first error google/nftables reported while encoding.
func (b *Batch) Err() error {
	b.drain()
	return b.err
}

// Reset drops the messages queued so far.
func (b *Batch) Reset() {
	b.drain()
	b.clear()
}

// clear empties the batch after it was sent or dropped. It keeps one
// chunk for the next transaction: the changes that follow a first sync
// take a few KiB, and one endpoint change of a Service with thousands of
// endpoints still fits. A chunk grown past its allocation by a big
// message is released.
func (b *Batch) clear() {
	if cap(b.buf) > chunkLen+chunkSlack {
		b.buf = nil
	}
	b.full, b.buf, b.n, b.err = nil, b.buf[:0], 0, nil
}

// chunks is the batch as it is sent: the filled chunks and the current one.
func (b *Batch) chunks() [][]byte { return append(b.full[:len(b.full):len(b.full)], b.buf) }

// ack is what capture answers to google/nftables' reads: success.
var ack = []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 4)}}

// capture is google/nftables' "socket": req is a batch of its queued
// messages (begin and end markers included), nil a read.
func (b *Batch) capture(req []netlink.Message) ([]netlink.Message, error) {
	if len(req) < 2 {
		return ack, nil
	}
	for _, m := range req[1 : len(req)-1] { // drop its batch markers
		b.append(m.Header.Type, m.Header.Flags&^(netlink.Acknowledge|unix.NLM_F_ECHO), m.Data)
	}
	return nil, nil
}

// drain moves what google/nftables queued into buf.
func (b *Batch) drain() {
	b.queued = 0
	if err := b.lib.Flush(); err != nil && b.err == nil {
		b.err = fmt.Errorf("encode nftables batch: %w", err)
	}
}

// append adds one message. The batch begin marker is reserved first, so
// the batch is sent from buf without a copy.
func (b *Batch) append(typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) {
	start := b.beginMessage(typ, flags)
	b.buf = append(b.buf, data...)
	b.endMessage(start)
}

// beginMessage starts a message in buf and returns its offset; endMessage
// sets its length once its data follows.
func (b *Batch) beginMessage(typ netlink.HeaderType, flags netlink.HeaderFlags) int {
	switch {
	case len(b.buf) == 0 && len(b.full) == 0:
		b.buf = appendMarker(b.buf, unix.NFNL_MSG_BATCH_BEGIN)
	case len(b.buf) >= chunkLen:
		b.full = append(b.full, b.buf)
		b.buf = make([]byte, 0, chunkLen+chunkSlack)
	}
	b.last = len(b.buf)
	b.n++
	b.buf = appendHeader(b.buf, typ, flags, 0)
	return b.last
}

func (b *Batch) endMessage(start int) {
	binary.NativeEndian.PutUint32(b.buf[start:], uint32(len(b.buf)-start))
	b.pad()
}

// pad aligns the end of buf for the next message or attribute.
func (b *Batch) pad() {
	for len(b.buf)%unix.NLMSG_ALIGNTO != 0 {
		b.buf = append(b.buf, 0)
	}
}

func appendHeader(buf []byte, typ netlink.HeaderType, flags netlink.HeaderFlags, n int) []byte {
	buf = binary.NativeEndian.AppendUint32(buf, uint32(unix.NLMSG_HDRLEN+n))
	buf = binary.NativeEndian.AppendUint16(buf, uint16(typ))
	buf = binary.NativeEndian.AppendUint16(buf, uint16(flags))
	buf = binary.NativeEndian.AppendUint32(buf, 0)  // sequence, set by seal
	return binary.NativeEndian.AppendUint32(buf, 0) // port id 0: the kernel
}

// appendMarker adds a batch begin or end message for the nftables subsystem.
func appendMarker(buf []byte, typ int) []byte {
	buf = appendHeader(buf, netlink.HeaderType(typ), netlink.Request, 4)
	return append(buf, unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES)
}

// seal ends a batch of at least one message: it asks for an ack of the
// last message only (errors are reported anyway, and the ack proves the
// kernel has processed the whole batch), appends the end marker and
// numbers the messages from first on. It returns the sequence number of
// the last message before the end marker, the one acknowledged.
func (b *Batch) seal(first uint32) (last uint32) {
	flags := binary.NativeEndian.Uint16(b.buf[b.last+6:])
	binary.NativeEndian.PutUint16(b.buf[b.last+6:], flags|uint16(netlink.Acknowledge))
	b.buf = appendMarker(b.buf, unix.NFNL_MSG_BATCH_END)
	seq := first
	for msg := range b.all() {
		binary.NativeEndian.PutUint32(msg[8:], seq)
		seq++
	}
	return seq - 2
}

// all yields every message of the batch, header included, the batch
// markers too.
func (b *Batch) all() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for _, c := range b.chunks() {
			for off := 0; off+unix.NLMSG_HDRLEN <= len(c); {
				n := int(binary.NativeEndian.Uint32(c[off:]))
				if n < unix.NLMSG_HDRLEN || off+n > len(c) || !yield(c[off:off+n]) {
					return
				}
				off += Align(n)
			}
		}
	}
}

// nth returns message i of the batch (0 is the begin marker).
func (b *Batch) nth(i int) ([]byte, bool) {
	for msg := range b.all() {
		if i == 0 {
			return msg, true
		}
		i--
	}
	return nil, false
}

// Messages calls fn with each message of the batch (header included),
// the batch markers left out: what a kernel in memory would apply.
func (b *Batch) Messages(fn func(msg []byte)) {
	b.drain()
	i := 0
	for msg := range b.all() {
		if i > 0 && i <= b.n {
			fn(msg)
		}
		i++
	}
}

// Align rounds n up to the netlink alignment (messages and attributes).
func Align(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
