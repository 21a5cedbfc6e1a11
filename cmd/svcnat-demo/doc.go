// Command svcnat-demo is `make demo`: it builds a virtual node out of network
// namespaces (netns kit), starts web pods, runs `svcnat run --manifests` in
// the node on the seed article's my-app-service (port 80 -> targetPort 8080,
// nodePort 30080), reaches it with curl through the NodePort and the
// ClusterIP, prints the flow and the rules, scales the endpoints by editing
// the manifest and shows traffic follow. Everything is removed at the end,
// also on failure or Ctrl-C. It never touches the root network namespace.
// It needs root, iproute2, curl and the backend's tools: it checks them
// before anything else and names the Debian packages to install (exit 2).
//
// The agent runs as an internal/labtest Proc (its log in the temp folder,
// stopped by pid) and the waits are labtest.Eventually: the same helpers as
// the tests. Neither labtest nor netns imports testing, so this binary does
// not link it (internal/labtest's TestCommandsDoNotLinkTesting checks every
// command).
package main
