// Command svcnat is a Kubernetes Service proxy for Linux nodes.
//
//	svcnat run      the node agent: keep netfilter equal to the cluster's Services
//	svcnat apply    program the rules for manifest files into a network namespace
//	svcnat diff     print what apply would change
//	svcnat cleanup  remove svcnat's rules
//	svcnat status   show what a running agent, or a namespace's kernel, holds
//	svcnat render   print the rules for manifest files (dry run)
//	svcnat trace    follow one packet through the rules
//	svcnat explain  describe a Service's flow, entry points to pods
//	svcnat version  print the version
//
// The command tree is github.com/spf13/cobra: `svcnat help CMD`, `svcnat
// completion bash|zsh|fish`, `--version`. Exit status: 0 success, 1
// failure, 2 usage error (unknown flag or command, stray argument, bad
// value, unreadable input file). Invoked as kube-proxy, or with flags and
// no command, svcnat is `svcnat run`. trace, explain, diff and status print
// JSON or YAML with -o (schemas in docs/CLI.md).
package main
