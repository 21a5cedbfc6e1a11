package kubeproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// watchPoll is how often WatchConfigFile re-reads the file even without an
// inotify event (a safety net, e.g. for network file systems).
var watchPoll = 5 * time.Second

// WatchConfigFile reports on the returned channel when the content of the
// file at path changes or the file disappears, then closes it; it closes
// it without a value when ctx ends. kube-proxy exits when its configuration
// file changes so that the pod restarts with the new one; svcnat's caller
// does the same.
//
// It watches the file's folder with inotify rather than the file, so that
// a ConfigMap volume's update (a new ..data folder swapped in by renaming a
// symlink) is seen, and compares contents, so that events about other files
// or rewrites of identical content are not reported.
func WatchConfigFile(ctx context.Context, path string) <-chan error {
	ch := make(chan error, 1)
	initial, err := os.ReadFile(path)
	if err != nil {
		ch <- fmt.Errorf("watch kube-proxy configuration: %w", err)
		close(ch)
		return ch
	}
	go func() {
		defer close(ch)
		// The folder of the path (a ConfigMap's symlink swap, an edit of a
		// plain file) and the folder of the file it resolves to (an edit
		// behind a symlink).
		dirs := []string{filepath.Dir(path)}
		if real, err := filepath.EvalSymlinks(path); err == nil && filepath.Dir(real) != dirs[0] {
			dirs = append(dirs, filepath.Dir(real))
		}
		fd := inotifyDirs(dirs)
		if fd >= 0 {
			defer unix.Close(fd)
		}
		lastPoll := time.Now()
		for ctx.Err() == nil {
			event := waitEvent(fd, 200*time.Millisecond)
			if !event && time.Since(lastPoll) < watchPoll {
				continue
			}
			lastPoll = time.Now()
			if err := changed(path, initial); err != nil {
				ch <- err
				return
			}
		}
	}()
	return ch
}

// inotifyDirs returns an inotify descriptor watching dirs, or -1 (polling
// then does the work alone).
func inotifyDirs(dirs []string) int {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return -1
	}
	const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
		unix.IN_CLOSE_WRITE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF
	for _, dir := range dirs {
		if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
			unix.Close(fd)
			return -1
		}
	}
	return fd
}

// waitEvent waits at most d for inotify events and drains them.
func waitEvent(fd int, d time.Duration) bool {
	if fd < 0 {
		time.Sleep(d)
		return false
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(d/time.Millisecond))
	if err != nil || n == 0 {
		return false
	}
	buf := make([]byte, 64*1024)
	for {
		if _, err := unix.Read(fd, buf); err != nil {
			return true // EAGAIN: drained
		}
	}
}

func changed(path string, initial []byte) error {
	now, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("kube-proxy configuration file %s was removed", path)
	case err != nil:
		return fmt.Errorf("kube-proxy configuration file %s: %w", path, err)
	case !bytes.Equal(now, initial):
		return fmt.Errorf("content of the kube-proxy configuration file %s was updated", path)
	}
	return nil
}
