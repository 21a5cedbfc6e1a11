// Package connbench measures how many new TCP connections per second go
// from one network namespace to an address served in another, and how long
// each connect takes: the data-plane load of svcnat-bench --dataplane.
//
// Serve starts accept loops in a namespace (a pod), each a goroutine
// blocked in accept(2): for every connection it reads one small request,
// writes a short reply and closes. Run starts W clients in another
// namespace (the client), each on its own OS thread switched into that
// namespace, doing blocking system calls in a loop for a fixed time:
// socket, connect (timed), write the request, read the reply, close.
// Blocking calls on both sides keep Go's network poller out of a
// connection's cost, so the kernel's part, the path under test, weighs as
// much as it can.
//
// The clients close with SO_LINGER 0, so the connection ends with a reset:
// no socket is left in TIME_WAIT on either side, and the rate measures the
// path (routing, netfilter, conntrack, NAT) rather than the exhaustion of
// ephemeral ports. Nothing is changed outside the namespaces given, and
// every call is bounded (socket timeouts and a round deadline).
//
// The package does not import testing; it needs root only because the
// namespaces do.
package connbench
