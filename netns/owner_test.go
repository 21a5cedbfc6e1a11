package netns

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestOrphansSwept: the namespaces of a process that died without cleaning
// up (a killed test binary) are deleted by the next claim; a live owner's
// are kept.
func TestOrphansSwept(t *testing.T) {
	if err := Supported(); err != nil {
		t.Skipf("network namespace unavailable: %v", err)
	}
	// The package's owner records go to a directory of the test's own, and
	// back to the real one after it: later claims in this binary would
	// otherwise recreate the removed temporary directory.
	realOwnerDir := ownerDir
	ownerDir = t.TempDir()
	t.Cleanup(func() { ownerDir = realOwnerDir })
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	suffix, err := randomHex(3)
	if err != nil {
		t.Fatal(err)
	}
	orphan, live := "svcnat-orphan"+suffix, "svcnat-live"+suffix
	for _, p := range []string{orphan, live} {
		if err := addNetns(p + "-x"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = Sweep(p + "-") })
	}
	self, err := processID(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]string{orphan: strconv.Itoa(dead.Process.Pid) + " 1", live: self}
	for p, rec := range records {
		if err := os.WriteFile(filepath.Join(ownerDir, p), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sweepOrphans()
	if _, err := os.Stat(nsPath(orphan + "-x")); err == nil {
		t.Error("the dead owner's namespace is still there")
	}
	if _, err := os.Stat(filepath.Join(ownerDir, orphan)); err == nil {
		t.Error("the dead owner's record is still there")
	}
	if _, err := os.Stat(nsPath(live + "-x")); err != nil {
		t.Errorf("the live owner's namespace was removed: %v", err)
	}
}
