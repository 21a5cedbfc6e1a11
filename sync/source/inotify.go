package source

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// dirEvents are the inotify events after which a scan is worth doing: a
// file finished being written, appeared by rename, or went away. Plain
// IN_MODIFY is left out: a large file being written would wake the scan
// many times before it is complete.
const dirEvents = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_CREATE | unix.IN_DELETE | unix.IN_ATTRIB

// watchDir wakes the directory source as soon as an entry of dir changes,
// so an edit reaches the kernel without waiting for the next poll. It
// returns a channel that receives (coalesced) wake-ups and a stop function.
// Polling stays the safety net for file systems without inotify.
func watchDir(dir string) (<-chan struct{}, func(), error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, dirEvents); err != nil {
		unix.Close(fd)
		return nil, nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// A non-blocking fd wrapped by os.NewFile uses the runtime poller, so
	// Close unblocks the reader goroutine.
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	wake := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			if _, err := f.Read(buf); err != nil {
				return // closed, or inotify broke: polling goes on
			}
			select {
			case wake <- struct{}{}:
			default: // a scan is already pending
			}
		}
	}()
	return wake, func() { f.Close() }, nil
}
