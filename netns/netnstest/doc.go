// Package netnstest holds the netns conveniences for tests: NewLab (a
// virtual cluster) and Scratch (an empty namespace), each skipped without
// root or iproute2 and removed in t.Cleanup, also on failure, and
// Tool.Run, which runs a kernel tool inside a namespace within the time a
// fuzz input is allowed. They live here, not in netns, so that netns does
// not import the testing package and commands that use it
// (cmd/svcnat-demo) do not link it.
//
//	func TestNodePort(t *testing.T) {
//		lab := netnstest.NewLab(t)
//		...
//	}
package netnstest
