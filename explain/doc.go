// Package explain describes how svcnat handles one Service: for each port,
// every entry point (ClusterIP:port, node IPs:nodePort, load-balancer and
// external IPs) leading to the pods' IP:targetPort, with the policies that
// shape the flow. It reads only synth's output, so what it says is what the
// backends program.
//
// Explain builds a Report, the schema of `svcnat explain -o json`
// (docs/CLI.md); Report.WriteText prints it for humans.
package explain
