package nfnl

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Send implements Kernel: the batch goes out in one sendmsg (the kernel
// applies all of it or nothing), and the first error the kernel reports
// is returned.
func (c *Conn) Send(b *Batch) error {
	b.drain()
	defer b.clear()
	if b.err != nil {
		return b.err
	}
	if b.n == 0 {
		return nil
	}
	first := c.seq + 1
	last := b.seal(first)
	c.seq = last + 2 // past the end marker
	if err := c.write(b.chunks()); err != nil {
		return err
	}
	return c.readAcks(first, last, b)
}

// write sends the chunks as one netlink message stream: the kernel copies
// them into one buffer and handles the batch within the call.
func (c *Conn) write(chunks [][]byte) error {
	raw, err := c.tx.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = raw.Write(func(fd uintptr) bool {
		_, serr = unix.SendmsgBuffers(int(fd), chunks, nil, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}, 0)
		return serr != unix.EAGAIN
	})
	return errors.Join(err, serr)
}

// readAcks reads what the kernel answered to the batch whose messages
// have sequence numbers first..last. The kernel handles a batch within
// sendmsg, so every answer is queued by now: reading stops at the ack of
// the last message, or when the socket is empty.
func (c *Conn) readAcks(first, last uint32, batch *Batch) error {
	raw, err := c.tx.SyscallConn()
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
		done = parseAcks(buf[:n], first, last, &kerr, batch)
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
func parseAcks(b []byte, first, last uint32, kerr *error, batch *Batch) (done bool) {
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
		b = b[Align(n):]
	}
	return done
}
