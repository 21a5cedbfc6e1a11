// Package nfnl is the nftables backend's kernel I/O: it sends batches of
// nf_tables messages, reads one table back, and tells the ruleset
// generation, over NETLINK_NETFILTER sockets in one network namespace.
// Nothing in it knows svcnat's table layout; the backend sees it through
// the Kernel interface (Send, Read, Generation), which a kernel held in
// memory can implement for tests (Batch.Messages gives what to apply).
//
// Files:
//
//	kernel.go    Kernel and Reader interfaces; Conn, the netlink Kernel (Dial, Close)
//	batch.go     Batch: the messages of one transaction, encoded by google/nftables
//	elems.go     ElemMsg: set elements written into a Batch directly, in google/nftables' encoding
//	send.go      Conn.Send: one sendmsg per batch, one ack read back
//	batcherr.go  a refused batch's error names the message (rule, set, element); Describe
//	read.go      Conn.Read: table, chain, set, element and rule dumps
//	attrs.go     netlink attribute walking without allocation
//	dumpform.go  DumpForm: an expression as the kernel dumps it back (registers, NAT, set IDs)
//	genwatch.go  Conn.Generation and GenWatch, which skips reads nothing could have changed
//
// # Why WithTestDial, and how to leave it
//
// google/nftables marshals nf_tables objects well, but its Conn.Flush
// asks the kernel to acknowledge and echo every message and reads the
// answers back one recvmsg at a time, which at 10k Services was 40% of a
// full sync's CPU. It has no API that hands out the marshalled messages
// without sending them. Its only way to get them is the test seam
// nftables.WithTestDial, whose function receives the batch Flush would
// send: Batch "dials" that seam and copies the messages into its own
// buffer, without the ack and echo flags, and Conn.Send sends the buffer
// itself with a single ack on the last message.
//
// The seam is meant for tests, so its behaviour may change with any
// google/nftables release without notice. contract_test.go pins what we
// rely on: the messages our batch carries are exactly google/nftables'
// own encoding of the same objects (type, data and flags less ack/echo,
// batch markers included). Leaving the seam needs one upstream change: an
// exported way to take the queued messages without a socket, for example
// `func (cc *Conn) TakeMessages() []netlink.Message` (or an option that
// makes Flush request no per-message acks and echoes). Batch.drain would
// then call that instead of Flush, and capture would go away.
package nfnl
