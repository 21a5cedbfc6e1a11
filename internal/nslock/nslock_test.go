package nslock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/svcnat/svcnat/netns/netnstest"
)

func useTempDir(t *testing.T) {
	old := Dir
	Dir = t.TempDir()
	t.Cleanup(func() { Dir = old })
}

func TestSecondAcquireFailsNamingTheHolder(t *testing.T) {
	useTempDir(t)
	ns := netnstest.Scratch(t, "lock")
	release, err := Acquire(ns)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(ns)
	if !errors.Is(err, ErrHeld) {
		t.Fatalf("second Acquire: %v, want ErrHeld", err)
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("error does not name the holder's pid %d: %v", os.Getpid(), err)
	}
	release()
	release2, err := Acquire(ns)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	release2()
}

// TestTwoPathsOneNamespace: another path to the same namespace (here the
// /proc link of an open file of it) must find the same lock.
func TestTwoPathsOneNamespace(t *testing.T) {
	useTempDir(t)
	ns := netnstest.Scratch(t, "lock")
	release, err := Acquire(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	f, err := os.Open(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	other := filepath.Join("/proc", strconv.Itoa(os.Getpid()), "fd", strconv.Itoa(int(f.Fd())))
	if _, err := Acquire(other); !errors.Is(err, ErrHeld) {
		t.Fatalf("Acquire through %s: %v, want ErrHeld", other, err)
	}
}

func TestDifferentNamespacesBothSucceed(t *testing.T) {
	useTempDir(t)
	a, b := netnstest.Scratch(t, "lock"), netnstest.Scratch(t, "lock")
	ra, err := Acquire(a)
	if err != nil {
		t.Fatal(err)
	}
	defer ra()
	rb, err := Acquire(b)
	if err != nil {
		t.Fatalf("second namespace: %v", err)
	}
	rb()
}
