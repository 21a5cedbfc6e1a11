// Package version tells which svcnat this is: the release set at build
// time (make build passes `git describe --tags --always --dirty` with
// -ldflags -X), or else what the Go toolchain recorded in the binary (the
// module version, or the VCS revision and whether the tree was modified).
// The command line prints it and the agent exports it in its metrics.
package version
