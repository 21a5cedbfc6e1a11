package labtest

import "time"

// failureLogBytes is how much of a process's log a failed test prints.
const failureLogBytes = 16000

// TB is the part of testing.TB that the test conveniences use; *testing.T
// and *testing.B satisfy it. It is an interface so that this package does
// not link the testing package into the commands that use it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Failed() bool
}

// StartFor starts p for the rest of t: it fails t if p does not start,
// and in t's cleanup stops p (SIGTERM, SIGKILL after grace; needing the
// SIGKILL fails t), then prints the end of p's log if t failed.
func (p *Proc) StartFor(t TB, grace time.Duration) {
	t.Helper()
	t.Cleanup(func() {
		if err := p.Stop(grace); err != nil {
			t.Errorf("stop %s: %v", p.name, err)
		}
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", p.name, p.logPath, p.LogTail(0, failureLogBytes))
		}
	})
	if err := p.Start(); err != nil {
		t.Fatalf("%v", err)
	}
}
