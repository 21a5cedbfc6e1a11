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
// stopped by pid (SIGTERM, then SIGKILL, which fails the test) at the end
// of each test and its log is printed when the test failed. The process,
// build, polling and background-traffic helpers are internal/labtest's,
// shared with test/e2e, test/image and the demo.
//
// Files:
//
//	main_test.go      building the binary (labtest.BuildSvcnat), skipping without root
//	proc_test.go      the agent process (a labtest.Proc), its metrics
//	fixture_test.go   the lab, its echo pods and the manifest folder
//	manifest_test.go  Service/EndpointSlice YAML and atomic writes
//	probe_test.go     which pods answer; polling is labtest.EventuallySince / Steady
//	*_case_test.go    the cases: files, udp (conntrack), restart, tamper,
//	                  health, latency
//
// TestLatency is a benchmark-style test that runs only with
// SVCNAT_LATENCY=1: it measures the time from renaming an edited manifest
// to traffic reaching the new endpoint, beside 1k and 10k generated
// Services, and prints the median and worst of 50 edits (lines starting
// with LATENCY) with the agent's mean sync durations. It measures
// nftables, iptables-nft (1k only: a full iptables-nft-restore of 10k
// Services takes minutes) and iptables-legacy. The agent runs with
// --min-sync-period 100ms, as in test/e2e and test/fleet. With
// SVCNAT_LATENCY_PROFILE=dir it also runs with --profiling and writes a CPU
// profile of the edits to dir/cpu-BACKEND-Nk.pprof (go tool pprof):
//
//	SVCNAT_LATENCY=1 go test ./test/agent -run TestLatency -v -timeout 20m
//	SVCNAT_LATENCY=1 SVCNAT_LATENCY_PROFILE=/tmp go test ./test/agent -run 'TestLatency/10k/nftables' -v
package agent
