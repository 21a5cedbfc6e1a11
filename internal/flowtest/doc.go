// Package flowtest checks svcnat's packet-flow tables with real traffic:
// layer 2 and 3 of the testing layers in DESIGN.md.
//
// For one scenario (testdata/*.txtar) it builds a netns.Lab whose node under
// test is node-1, creates a pod for every endpoint address of the scenario
// (node-1's pod CIDRs with Lab.AddPod, node-2's with Lab.AddRemotePod) and
// for every pod source of the flow table, starts TCP and UDP echo servers on
// every endpoint port, programs the scenario's Rulesets into the node
// namespace with the backend under test, and sends every flow from the
// namespace owning its source address:
//
//   - DNAT: repeated connections until every expected endpoint answered;
//     every answer must come from an expected endpoint and must show the
//     expected source (masquerade yes / no / hairpin). With session
//     affinity every answer must come from the same endpoint instead.
//   - REJECT: the connection is refused (TCP RST or ICMP unreachable).
//   - DROP: nothing answers before a short deadline.
//   - ACCEPT: no endpoint answers through DNAT.
//
// Lab additions, all inside the lab's own namespaces: the client and node-2
// route every flow destination that is not on the LAN (external and
// load-balancer IPs, extra service CIDRs) via node-1, as a router would;
// node-2 routes the service CIDRs via node-1, so node-1 proxies its pods'
// Service traffic; and node-2 sends replies of connections that node-1
// forwarded to it back through node-1 (a connmark policy route), so that a
// node-2 pod reaching a node-2 endpoint without masquerade gets its reply
// un-DNATed by node-1, as it would by its own node's proxy in a real cluster.
//
// Scenarios whose detect-local mode looks at interfaces get node-1's pods
// behind the bridge they name (BridgeInterface) or on veths named with
// their prefix (InterfaceNamePrefix). A row's input interface (the flow
// table's optional iif column) must lead the tracer to the same decisions
// as the interface the packet really comes in by in the lab (the pod's
// veth or bridge, eth0 for the client and node-2's pods, none for node-1
// itself); otherwise the row fails before sending anything.
//
// Besides the scenarios, Continuity checks that established and new
// connections survive many successive Applies, and Localhost checks that
// NodePorts are never reachable on 127.0.0.1.
//
// The tests live in the backends' packages; each passes a Factory.
package flowtest
