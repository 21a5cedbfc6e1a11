// Package labtest holds the helpers that the process-level tests (test/e2e,
// test/agent, test/image, the fleet test) and the demo (cmd/svcnat-demo)
// share, so that each exists once:
//
//   - Proc: a child process, optionally inside a netns.Host, with its output
//     in a log file: Start (again after a stop), Pid, Running, Exited,
//     ExitCode, Stop (SIGTERM, then SIGKILL after a grace period; ErrKilled
//     when that was needed), Kill, LogSize and LogTail.
//   - Build: RepoRoot, Version (the Makefile's version stamp), BuildSvcnat
//     (cmd/svcnat with that stamp, once per folder; SVCNAT_BIN overrides),
//     GoBuild, and the binaries the lab runs: KubeAPIServer, KubeProxy
//     (.cache/bin, or KUBE_APISERVER / KUBE_PROXY) and Etcd (ETCD or PATH).
//   - Poll: Eventually, EventuallySince (bounded waits that return how long
//     they took; Permanent ends one early) and Steady.
//   - Traffic: a bounded background loop of attempts (DialCheck: a new
//     connection from a lab host; PingCheck: one more exchange on a held
//     connection) that counts successes and failures with their reasons,
//     for "nothing fails while X changes".
//
// The package does not import testing, so a command may use it: the test
// conveniences (Proc.StartFor) take TB, the part of testing.TB they need.
// Sub-package kubelab runs etcd and kube-apiserver in a lab namespace; it is
// separate because it links client-go, which the demo does not need. The
// netns conveniences for tests (a lab or a scratch namespace removed in
// t.Cleanup) are in netns/netnstest.
package labtest
