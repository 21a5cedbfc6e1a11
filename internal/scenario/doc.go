// Package scenario loads svcnat's shared test scenarios: one txtar archive
// per scenario in testdata/, holding the input manifests, the node config,
// the expected output of every renderer and a packet-flow table.
//
// Archive sections:
//
//	input.yaml        Services, EndpointSlices, Nodes (manifest format)
//	config.yaml       the node's synth.Config (see ConfigFile)
//	flows.txt         packet-flow table (see ParseFlows)
//	warnings.golden   expected warnings, one per line
//	nft.golden        expected nftables script
//	iptables.golden   expected iptables-restore input
//
// Golden sections are rewritten by `make update` (go test -update in the
// packages that render them); several test
// binaries may do that at once, so updates take a file lock.
package scenario
