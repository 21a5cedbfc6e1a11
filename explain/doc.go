// Package explain describes, in words, how svcnat handles one Service: for
// each port, every entry point (ClusterIP:port, node IPs:nodePort,
// load-balancer and external IPs) leading to the pods' IP:targetPort, with
// the policies that shape the flow. It reads only synth's output, so what it
// says is what the backends program.
package explain
