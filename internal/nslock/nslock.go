package nslock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Dir is where the lock files live.
var Dir = "/run/svcnat"

// ErrHeld is returned (wrapped) when another process holds the lock.
var ErrHeld = errors.New("another svcnat agent holds the namespace lock")

// Acquire locks the network namespace at netnsPath ("" is the caller's
// own, /proc/self/ns/net) for this process. release unlocks it; the lock
// also ends with the process. A second Acquire for the same namespace, by
// any process (this one included), fails with ErrHeld and the holder's pid.
func Acquire(netnsPath string) (release func(), err error) {
	if netnsPath == "" {
		netnsPath = "/proc/self/ns/net"
	}
	var st unix.Stat_t
	if err := unix.Stat(netnsPath, &st); err != nil {
		return nil, fmt.Errorf("lock network namespace %s: %w", netnsPath, err)
	}
	if err := os.MkdirAll(Dir, 0o755); err != nil {
		return nil, fmt.Errorf("lock network namespace %s: %w", netnsPath, err)
	}
	name := filepath.Join(Dir, fmt.Sprintf("netns-%d-%d.lock", st.Dev, st.Ino))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock network namespace %s: %w", netnsPath, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readPID(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: network namespace %s is locked by pid %s (%s)", ErrHeld, netnsPath, holder, name)
		}
		return nil, fmt.Errorf("lock network namespace %s: %w", netnsPath, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock network namespace %s: %w", netnsPath, err)
	}
	// The file stays: removing it while another process is about to open
	// it would let two holders lock two different files of one name.
	return func() { f.Close() }, nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the pid the holder wrote, or "unknown".
func readPID(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}
