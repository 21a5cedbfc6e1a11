// Package synth is svcnat's model: a pure, deterministic function from
// Kubernetes Services, EndpointSlices and Nodes plus a node Config to one
// Ruleset per IP family.
//
// A Ruleset is plain data (netip values, sorted slices) describing every
// decision kube-proxy would take for this node: which entry points a Service
// port has (ClusterIP, NodePort, external and load-balancer IPs), which
// endpoints serve cluster traffic and which serve external traffic, when the
// source is masqueraded, and when traffic is rejected or dropped. Backends
// turn a Ruleset into netfilter rules without re-deciding any of it.
//
// Bad input never stops the build: the offending Service port, endpoint or
// slice is skipped and reported as a Warning, everything else is kept.
//
// EndpointSlices come as API objects or in synth's compact form
// (EndpointSlice, made by SliceOf): a node agent's informer caches hold
// every slice of the cluster, and the compact form is a little over half
// of client-go's decoded object. Both build the same Result.
//
// The package also holds the packet tracer (Ruleset.Trace), which answers
// "where does this packet go" from the Ruleset alone.
//
// synth does no I/O, no logging and reads no clock: the same input always
// gives the same Result, byte for byte.
package synth
