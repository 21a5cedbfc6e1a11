package source

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirEvents are the inotify events after which a scan is worth doing: a
// file finished being written, appeared by rename, or went away. Plain
// IN_MODIFY is left out: a large file being written would wake the scan
// many times before it is complete.
const dirEvents = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM |
	unix.IN_CREATE | unix.IN_DELETE | unix.IN_ATTRIB

// dirWatch reports the changes inotify sees in a directory.
type dirWatch struct {
	wake <-chan struct{} // receives (coalesced) wake-ups
	stop func()

	mu      sync.Mutex
	renamed map[string]bool // names that appeared by rename since the last take
}

// takeRenamed returns the names renamed into the directory since the last
// call: such a file was complete when it appeared (see doc.go).
func (w *dirWatch) takeRenamed() map[string]bool {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.renamed
	w.renamed = nil
	return r
}

func (w *dirWatch) noteRenamed(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.renamed == nil {
		w.renamed = map[string]bool{}
	}
	w.renamed[name] = true
}

// watchDir wakes the directory source as soon as an entry of dir changes,
// so an edit reaches the kernel without waiting for the next poll, and
// records which names were renamed into place. Polling stays the safety
// net for file systems without inotify.
func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, dirEvents); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	// A non-blocking fd wrapped by os.NewFile uses the runtime poller, so
	// Close unblocks the reader goroutine.
	f := os.NewFile(uintptr(fd), "inotify:"+dir)
	wake := make(chan struct{}, 1)
	w := &dirWatch{wake: wake, stop: func() { f.Close() }}
	go func() {
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return // closed, or inotify broke: polling goes on
			}
			eachEvent(buf[:n], func(mask uint32, name string) {
				if mask&unix.IN_MOVED_TO != 0 {
					w.noteRenamed(name)
				}
			})
			select {
			case wake <- struct{}{}:
			default: // a scan is already pending
			}
		}
	}()
	return w, nil
}

// eachEvent calls fn for each inotify event in buf.
func eachEvent(buf []byte, fn func(mask uint32, name string)) {
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return
		}
		name := string(bytes.TrimRight(buf[unix.SizeofInotifyEvent:end], "\x00"))
		fn(ev.Mask, name)
		buf = buf[end:]
	}
}
