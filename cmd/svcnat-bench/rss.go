package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// runPeakRSS runs cmd and returns its peak resident set size in KiB.
//
// The child's rusage cannot be used: Go starts children with
// clone(CLONE_VM|CLONE_VFORK), so until exec the child shares this
// process's memory, and Linux carries that memory's high-water mark over
// exec into the child's ru_maxrss: a child started from a bench holding a
// 10k-Service cluster "peaked" at the bench's own size. VmHWM in
// /proc/PID/status belongs to the child's own address space, so it is read
// every few milliseconds until the child exits; the peak is in the load or
// the apply, not in the last milliseconds before exit.
func runPeakRSS(cmd *exec.Cmd) (int64, []byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	var peak int64
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return peak, out.Bytes(), err
		case <-tick.C:
			if data, err := os.ReadFile(status); err == nil {
				if kib, ok := vmHWM(data); ok {
					peak = max(peak, kib)
				}
			}
		}
	}
}

// vmHWM reads the VmHWM line ("VmHWM:    1234 kB") of a status file.
func vmHWM(status []byte) (int64, bool) {
	for _, line := range bytes.Split(status, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmHWM:"))
		if !ok {
			continue
		}
		kib, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
		return kib, err == nil
	}
	return 0, false
}
