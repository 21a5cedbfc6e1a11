// Command svcnat is a Kubernetes Service proxy for Linux nodes.
//
//	svcnat run      the node agent: keep netfilter equal to the cluster's Services
//	svcnat render   print the rules for manifest files (dry run)
//	svcnat apply    program the rules for manifest files into a network namespace
//	svcnat diff     print what apply would change
//	svcnat cleanup  remove svcnat's rules
//	svcnat trace    follow one packet through the rules
//	svcnat explain  describe a Service's flow, entry points to pods
//	svcnat version  print the version
//
// Usage errors (unknown flags, unreadable or invalid files) exit with status 2.
package main
