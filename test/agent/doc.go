// Package agent tests `svcnat run --manifests` as a process, with real
// traffic: each test builds a netns lab (virtual node, client, pods with
// echo servers), writes Services and EndpointSlices into a temporary
// manifest folder, starts the agent inside the node namespace and checks
// what the client's packets reach while the folder changes, the agent
// restarts, someone tampers with its rules, and load balancers ask the
// health check node port.
//
// TestMain compiles ./cmd/svcnat once per test binary (bounded by
// buildTimeout); without root every test skips. Every case runs on the
// nftables backend and on the iptables backend (iptables-nft). The agent is
// stopped by pid (SIGTERM, then SIGKILL) at the end of each test and its
// log is printed when the test failed.
//
// Files:
//
//	main_test.go      building the binary, skipping without root
//	proc_test.go      the agent process: start, stop, log, HTTP into the node
//	fixture_test.go   the lab, its echo pods and the manifest folder
//	manifest_test.go  Service/EndpointSlice YAML and atomic writes
//	probe_test.go     bounded polling with real traffic
//	*_case_test.go    the cases: files, udp (conntrack), restart, tamper,
//	                  health, latency
//
// TestLatency is a benchmark-style test that runs only with
// SVCNAT_LATENCY=1: it measures the time from renaming an edited manifest
// to traffic reaching the new endpoint, beside 1k and 10k generated
// Services, and prints the median and worst of 50 edits (lines starting
// with LATENCY) with the agent's mean sync durations. It measures
// nftables, iptables-nft (1k only: a full iptables-nft-restore of 10k
// Services takes minutes) and iptables-legacy:
//
//	SVCNAT_LATENCY=1 go test ./test/agent -run TestLatency -v -timeout 20m
package agent
