// Command svcnat-bench measures svcnat on synthetic clusters and prints one
// Markdown table: for each size (Services × endpoints) and backend, the
// time of synth.Build and of the dry-run render, and inside a throwaway
// network namespace the full apply, a one-endpoint change, an
// add-one-Service change (median of a few), the peak RSS of
// `svcnat apply` run as a child process, and the rules and elements
// programmed.
//
// It needs root (network namespaces) and creates only namespaces named
// svcnat-bench-<pid>-<n>, deleted on exit. Figures on a shared machine are
// noisy: compare medians, and CPU time when in doubt.
package main
