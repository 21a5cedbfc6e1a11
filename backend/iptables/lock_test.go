package iptables

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/synth"
)

// TestXtablesLockWaitIsBounded holds the xtables lock, as another
// iptables user would, and checks that a legacy apply gives up after about
// lockWait with an error naming the lock (it used to wait for ever). The
// lock is a temporary file named by XTABLES_LOCKFILE, which the restore
// inherits, so the host's real lock is never touched.
func TestXtablesLockWaitIsBounded(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "xtables.lock")
	t.Setenv("XTABLES_LOCKFILE", lock)
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, newNetNS(t), ModeLegacy)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = backend.Apply(ctx, b, []*synth.Ruleset{handRuleset()}, nil)
	took := time.Since(start)
	if err == nil {
		t.Fatal("Apply succeeded while the xtables lock was held")
	}
	if !strings.Contains(err.Error(), "xtables lock "+lock) || !strings.Contains(err.Error(), "held by another process") {
		t.Errorf("error does not name the lock %s: %v", lock, err)
	}
	if took < lockWait-time.Second || took > lockWait+3*time.Second {
		t.Errorf("Apply gave up after %v, want about %v", took, lockWait)
	}
	// Released, the same backend applies.
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if _, err := backend.Apply(ctx, b, []*synth.Ruleset{handRuleset()}, nil); err != nil {
		t.Fatalf("Apply after the lock was released: %v", err)
	}
}

// TestExecDeadline checks that a command that never ends is stopped when
// its context ends.
func TestExecDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := runner{}.exec(ctx, nil, "sleep", "30")
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("exec of sleep 30 under a 200ms deadline: %v after %v", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "deadline") {
		t.Errorf("error does not say the deadline passed: %v", err)
	}
}
