// Package netns is a network-namespace test kit: it builds a small virtual
// Kubernetes cluster out of Linux network namespaces, runs echo servers in
// pods and dials them with real packets, so that netfilter rules (nftables
// or iptables, programmed inside the node namespace) can be tested end to end.
//
// It needs root and iproute2. Nothing is ever configured in the root network
// namespace: every veth is created with its peer directly in a lab namespace,
// and sysctls are written from a thread verified to be inside the lab.
//
// # Topology
//
// New (and netnstest.NewLab, its version for tests) build, with the default
// Options:
//
//	                    LAN namespace: bridge br0
//	      ┌──────────────────────┼─────────────────────────┐
//	Client eth0             Node eth0                 Node2 eth0
//	192.168.1.10/24         192.168.1.100/24          192.168.1.101/24
//	fd00:1::10/64           fd00:1::100/64            fd00:1::101/64
//	                        pods 10.244.1.0/24        pods 10.244.2.0/24
//	                        fd00:244:1::/64           fd00:244:2::/64
//	                          │ vpodN (169.254.1.1,     │
//	                          │        fe80::1)         │
//	                        AddPod: eth0 10.244.1.x/32  AddRemotePod: 10.244.2.x/32
//
// NodeOptions.PodVethPrefix renames the vpodN veths; NodeOptions.PodBridge
// makes them ports of a bridge (hairpin on) that holds the gateways
// instead, the way kubenet's cbr0 does.
//
// The client routes the service CIDRs (10.96.0.0/16, fd00:96::/112) and both
// pod CIDRs via Node, as an external router would. Node routes Node2's pod
// CIDR via Node2 and vice versa, and both nodes route the service CIDRs to
// the client, which stands for their default route: a service packet that no
// rule DNATs reaches the client, which does not forward, and is dropped.
// Nodes forward (IPv4 and IPv6) and send no redirects; IPv6 DAD and
// reverse-path filtering are off everywhere; lo is up everywhere.
//
// Namespaces are named <prefix>-<6 hex>-<role>, roles being lan, client,
// node, node2 and pod-<name>, e.g. svcnat-1a2b3c-node. Close deletes them;
// Sweep deletes the leftovers of a crashed run.
//
// # Echo protocol
//
// Host.Serve starts a TCP, UDP or SCTP server on every address of a host. A
// reply is one line "<server ip:port> <seen source ip:port>\n": who answered
// and whom it saw, e.g. "10.244.1.5:8080 192.168.1.10:41234". Stream servers
// send it on accept and again for every line received; UDP servers send it
// for every datagram. Host.Dial returns it as a Reply; Host.OpenConn keeps a
// connection open and Conn.Ping exchanges one more line, for continuity tests.
//
// Failures are classified: errors wrap ErrRefused for a RST or an ICMP error
// (a REJECT rule, a closed port) and ErrTimeout when nothing answered (a DROP
// rule); see IsRefused and IsTimeout.
//
// SCTP needs kernel support; SCTPSupported and CheckSCTP tell, and SCTP
// servers and dials fail with ErrSCTPUnsupported without it.
//
// # Example
//
//	func TestNodePort(t *testing.T) {
//		lab := netnstest.NewLab(t) // deleted in t.Cleanup
//		pod, err := lab.AddPod("web", netip.MustParseAddr("10.244.1.5"))
//		if err != nil {
//			t.Fatal(err)
//		}
//		if _, err := pod.Serve(netns.TCP, 8080); err != nil {
//			t.Fatal(err)
//		}
//		// Program rules in the node: any tool through Exec, or Go code
//		// through lab.Node.Fd() (nftables.WithNetNSFd) or lab.Node.Do.
//		ctx := context.Background()
//		if _, err := lab.Node.Exec(ctx, "nft", "-f", "/path/to/rules.nft"); err != nil {
//			t.Fatal(err)
//		}
//		r, err := lab.Client.Dial(ctx, netns.TCP, netip.MustParseAddrPort("192.168.1.100:30080"), 0)
//		if err != nil {
//			t.Fatal(err) // netns.IsRefused(err) / netns.IsTimeout(err) tell REJECT from DROP
//		}
//		t.Logf("served by %v, which saw %v", r.Server, r.SeenSource)
//	}
//
// Tests that each build their own Lab may run in parallel.
//
// # Scratch namespaces
//
// NewScratch creates one empty namespace (loopback up) for rules that need
// no traffic; netnstest.Scratch is its version for tests.
//
// The package does not import testing: the conveniences that take a
// testing.TB are in netns/netnstest, so commands (cmd/svcnat-demo) that
// build labs do not link the testing package.
package netns
