// Package nftables is svcnat's nftables backend: it renders synth.Rulesets
// as an `nft -f` script (dry runs, golden files) and programs the same
// objects into a network namespace over netlink with github.com/google/nftables.
//
// Both outputs come from one intermediate model (model.go): a table of sets,
// maps and chains whose rules are lists of small statements, each of which
// knows its nft text and its netlink expressions (stmt.go). Text and
// netlink therefore cannot drift apart, and a test checks that `nft list`
// shows the same table whichever way it was loaded.
//
// Layout (per family, tables `ip svcnat` and `ip6 svcnat`): a fixed number
// of named sets and verdict maps, independent of the number of Services,
// so that a sync never asks the kernel to create a set per Service (the
// quadratic nf_tables_newset cost kube-proxy's anonymous vmaps pay). Per
// service port there are a few chains (service, external, load balancing,
// firewall) and one chain per endpoint. Endpoints are picked with chained
// `numgen random mod K` rules instead of an anonymous vmap. Session
// affinity uses one dynamic timeout set per endpoint of affinity services.
//
// Apply sends one netlink batch per call (atomic). The first call, and the
// first after Reconcile or an error, reads the table back from the kernel
// (kernelread.go) and sends only the differences from what it holds,
// replacing the whole table in that one batch only when the kernel's table
// is missing or cannot be compared; later calls send only the differences
// from the previous model.
package nftables
