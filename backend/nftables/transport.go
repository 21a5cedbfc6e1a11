package nftables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// transport sends one nfnetlink batch per transaction on a socket of its
// own. google/nftables still marshals every object, but its Flush asks the
// kernel for an ack and an echo of every message and reads them back one
// recvmsg (two syscalls and a 4 KiB buffer) at a time: at 10k Services that
// was 40% of a full sync's CPU and most of its garbage. Its only seam for
// getting the marshalled messages is WithTestDial, so lib "dials" capture,
// which appends the messages to buf; send then asks for one ack, on the
// last message, and reads only errors and that ack.
type transport struct {
	lib  *nftables.Conn // marshals; never touches a real socket
	sock *netlink.Conn  // NETLINK_NETFILTER in the target namespace
	buf  []byte         // the batch's messages, headers included
	n    int            // messages in buf
	last int            // offset of the last message in buf
	seq  uint32
	err  error // first capture error
}

// drainEvery bounds the messages google/nftables holds before they are
// copied into buf, so the batch is not held twice in memory.
const drainEvery = 1024

func newTransport(netnsFd int) (*transport, error) {
	sock, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: netnsFd})
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	for _, o := range []netlink.ConnOption{netlink.CapAcknowledge, netlink.ExtendedAcknowledge} {
		_ = sock.SetOption(o, true) // older kernels: errors are only less detailed
	}
	if err := bigBuffers(sock); err != nil {
		sock.Close()
		return nil, err
	}
	tr := &transport{sock: sock}
	tr.lib, err = nftables.New(nftables.WithTestDial(tr.capture))
	if err != nil {
		sock.Close()
		return nil, fmt.Errorf("nftables connection: %w", err)
	}
	return tr, nil
}

func (tr *transport) close() error { return tr.sock.Close() }

// ack is what capture answers to google/nftables' reads: success.
var ack = []netlink.Message{{Header: netlink.Header{Type: netlink.Error}, Data: make([]byte, 4)}}

// capture is google/nftables' "socket": req is a batch of its queued
// messages (begin and end markers included), nil a read.
func (tr *transport) capture(req []netlink.Message) ([]netlink.Message, error) {
	if len(req) < 2 {
		return ack, nil
	}
	for _, m := range req[1 : len(req)-1] { // drop its batch markers
		tr.append(m.Header.Type, m.Header.Flags&^(netlink.Acknowledge|unix.NLM_F_ECHO), m.Data)
	}
	return nil, nil
}

// append adds one message to the batch. The batch begin marker is
// reserved first, so the batch is sent from buf without a copy.
func (tr *transport) append(typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) {
	if len(tr.buf) == 0 {
		tr.buf = appendMarker(tr.buf, unix.NFNL_MSG_BATCH_BEGIN)
	}
	tr.last = len(tr.buf)
	tr.n++
	tr.buf = appendHeader(tr.buf, typ, flags, len(data))
	tr.buf = append(tr.buf, data...)
	for len(tr.buf)%unix.NLMSG_ALIGNTO != 0 {
		tr.buf = append(tr.buf, 0)
	}
}

func appendHeader(b []byte, typ netlink.HeaderType, flags netlink.HeaderFlags, n int) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(unix.NLMSG_HDRLEN+n))
	b = binary.NativeEndian.AppendUint16(b, uint16(typ))
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, 0)    // sequence, set by send
	return binary.NativeEndian.AppendUint32(b, 0) // port id 0: the kernel
}

// appendMarker adds a batch begin or end message for the nftables subsystem.
func appendMarker(b []byte, typ int) []byte {
	b = appendHeader(b, netlink.HeaderType(typ), netlink.Request, 4)
	return append(b, unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, unix.NFNL_SUBSYS_NFTABLES)
}

// drain moves what google/nftables queued into buf.
func (tr *transport) drain() {
	if err := tr.lib.Flush(); err != nil && tr.err == nil {
		tr.err = fmt.Errorf("encode nftables batch: %w", err)
	}
}

// pending reports whether a batch with at least one message is queued.
func (tr *transport) pending() bool {
	tr.drain()
	return tr.n > 0
}

// reset drops the batch queued so far.
func (tr *transport) reset() {
	tr.drain()
	tr.buf, tr.n, tr.err = tr.buf[:0], 0, nil
}

// send ends the batch, sends it in one sendmsg (the kernel applies all of
// it or nothing) and returns the first error the kernel reports.
func (tr *transport) send() error {
	tr.drain()
	defer func() { tr.buf, tr.n, tr.err = tr.buf[:0], 0, nil }()
	if tr.err != nil {
		return tr.err
	}
	if tr.n == 0 {
		return nil
	}
	// Ask for an ack of the last message only: errors are reported anyway,
	// and the ack proves the kernel has processed the whole batch.
	flags := binary.NativeEndian.Uint16(tr.buf[tr.last+6:])
	binary.NativeEndian.PutUint16(tr.buf[tr.last+6:], flags|uint16(netlink.Acknowledge))
	tr.buf = appendMarker(tr.buf, unix.NFNL_MSG_BATCH_END)
	first := tr.seq + 1
	seq := first
	for off := 0; off < len(tr.buf); seq++ {
		binary.NativeEndian.PutUint32(tr.buf[off+8:], seq)
		off += nlAlign(int(binary.NativeEndian.Uint32(tr.buf[off:])))
	}
	tr.seq = seq
	if err := tr.write(tr.buf); err != nil {
		return err
	}
	return tr.readAcks(first, seq-2) // the last message before the end marker
}

func nlAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

func (tr *transport) write(b []byte) error {
	raw, err := tr.sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	return errors.Join(err, serr)
}

// readAcks reads what the kernel answered to the batch whose messages
// have sequence numbers first..last. The kernel handles a batch within
// sendmsg, so every answer is queued by now: reading stops at the ack of
// the last message, or when the socket is empty.
func (tr *transport) readAcks(first, last uint32) error {
	raw, err := tr.sock.SyscallConn()
	if err != nil {
		return err
	}
	buf := make([]byte, 64<<10)
	var kerr error
	done := false
	for !done {
		var n int
		var rerr error
		err = raw.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return true
		})
		if errors.Is(rerr, unix.EAGAIN) {
			break
		}
		if err := errors.Join(err, rerr); err != nil {
			return fmt.Errorf("receive: %w", err)
		}
		done = parseAcks(buf[:n], first, last, &kerr, tr.buf)
	}
	if kerr != nil {
		return kerr
	}
	if !done {
		return errors.New("the kernel did not acknowledge the batch")
	}
	return nil
}

// parseAcks reads error messages; it records the first failure in kerr and
// reports whether the answer to the last message was seen. Answers to
// earlier batches (stale sequence numbers) are ignored.
func parseAcks(b []byte, first, last uint32, kerr *error, batch []byte) (done bool) {
	for len(b) >= unix.NLMSG_HDRLEN {
		n := int(binary.NativeEndian.Uint32(b))
		if n < unix.NLMSG_HDRLEN || n > len(b) {
			break
		}
		typ, flags := binary.NativeEndian.Uint16(b[4:]), binary.NativeEndian.Uint16(b[6:])
		seq := binary.NativeEndian.Uint32(b[8:])
		if typ == unix.NLMSG_ERROR && n >= unix.NLMSG_HDRLEN+4 && seq >= first-1 && seq <= last+1 {
			code := int32(binary.NativeEndian.Uint32(b[16:]))
			if code != 0 && *kerr == nil {
				*kerr = batchError(b[16:n], flags, int(seq-first), batch)
			}
			done = done || seq == last
		}
		b = b[nlAlign(n):]
	}
	return done
}

// batchError describes a kernel error: errno, the extended ack message if
// any, and which message of the batch failed and what it touched.
func batchError(payload []byte, flags uint16, index int, batch []byte) error {
	errno := syscall.Errno(-int32(binary.NativeEndian.Uint32(payload)))
	msg := ""
	if flags&unix.NLM_F_ACK_TLVS != 0 && len(payload) >= 4+unix.NLMSG_HDRLEN {
		ad, err := netlink.NewAttributeDecoder(payload[4+unix.NLMSG_HDRLEN:])
		for err == nil && ad.Next() {
			if ad.Type() == unix.NLMSGERR_ATTR_MSG {
				msg = ": " + ad.String()
			}
		}
	}
	if what := describeMessage(batch, index); what != "" {
		msg = " (" + what + ")" + msg
	}
	return fmt.Errorf("batch message %d%s: %w", index, msg, errno)
}
