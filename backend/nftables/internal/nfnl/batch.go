package nfnl

import (
	"encoding/binary"
	"fmt"

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
// A Batch is reused from one transaction to the next, buffer included,
// unless the buffer grew past keepBuf (see clear).
type Batch struct {
	lib    *nftables.Conn // marshals; never touches a real socket
	buf    []byte         // the messages, batch begin marker first
	n      int            // messages in buf, markers not counted
	last   int            // offset of the last message in buf
	queued int            // objects handed to lib since the last drain
	err    error          // first capture error
}

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

// keepBuf is the largest buffer a Batch keeps for the next transaction.
// A first sync of 10k Services fills ≈ 8 MB, held for nothing while the
// changes that follow take a few KiB; one endpoint change of a Service
// with thousands of endpoints still fits.
const keepBuf = 256 << 10

// clear empties the batch after it was sent or dropped, releasing a
// buffer larger than keepBuf to the garbage collector.
func (b *Batch) clear() {
	if cap(b.buf) > keepBuf {
		b.buf = nil
	}
	b.buf, b.n, b.err = b.buf[:0], 0, nil
}

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
	if len(b.buf) == 0 {
		b.buf = appendMarker(b.buf, unix.NFNL_MSG_BATCH_BEGIN)
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
	for off := 0; off < len(b.buf); seq++ {
		binary.NativeEndian.PutUint32(b.buf[off+8:], seq)
		off += Align(int(binary.NativeEndian.Uint32(b.buf[off:])))
	}
	return seq - 2
}

// Messages calls fn with each message of the batch (header included),
// the batch markers left out: what a kernel in memory would apply.
func (b *Batch) Messages(fn func(msg []byte)) {
	b.drain()
	off := 0
	for i := 0; i <= b.n && off+unix.NLMSG_HDRLEN <= len(b.buf); i++ {
		n := int(binary.NativeEndian.Uint32(b.buf[off:]))
		if i > 0 {
			fn(b.buf[off : off+n])
		}
		off += Align(n)
	}
}

// Align rounds n up to the netlink alignment (messages and attributes).
func Align(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }
