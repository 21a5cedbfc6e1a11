// Command svcnat-bench measures svcnat on synthetic clusters and prints one
// Markdown table: for each size (Services × endpoints) and backend, the
// time of synth.Build and of the dry-run render, and inside a throwaway
// network namespace the full apply, a one-endpoint change, an
// add-one-Service change (median of a few), the peak RSS of
// `svcnat apply` run as a child process, and the rules and elements
// programmed.
//
// With --dataplane it measures the data plane instead (dataplane.go): a lab
// of network namespaces from package netns (client, node, one pod running
// an internal/connbench server), the node programmed through a backend for
// a generated cluster plus one measured NodePort Service whose endpoint is
// that pod, and new TCP connections/s, CPU per connection and connect
// latency on three paths loaded in interleaved rounds: the pod's IP routed
// through the node (no DNAT), the ClusterIP and the node's NodePort.
//
// It needs root (network namespaces) and creates only namespaces named
// svcnat-bench-<pid>-<n> (--dataplane: svcnat-bench-dp-<random>-<role>),
// deleted on exit. Figures on a shared machine are
// noisy: compare medians, and CPU time when in doubt.
package main
