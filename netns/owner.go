package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ownerDir holds one file per live lab or scratch namespace prefix, naming
// the process that created it. t.Cleanup and Lab.Close remove what a test
// made, but not when the test binary is killed (go test -timeout, SIGKILL):
// the next lab then finds the owner gone and removes its namespaces.
var ownerDir = "/run/svcnat-netns-owners"

// claim records this process as the owner of the namespaces named
// prefix-*, after removing the namespaces of owners that no longer run.
func claim(prefix string) error {
	sweepOrphans()
	if err := os.MkdirAll(ownerDir, 0o755); err != nil {
		return fmt.Errorf("netns: owner record: %w", err)
	}
	self, err := processID(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(ownerDir, prefix), []byte(self), 0o644)
}

// release forgets prefix's owner record, once its namespaces are gone.
func release(prefix string) {
	_ = os.Remove(filepath.Join(ownerDir, prefix)) // best effort: a stale record only causes a sweep
}

// sweepOrphans deletes the namespaces whose recorded owner process is gone
// (a pid that was reused by another process has another start time).
func sweepOrphans() {
	entries, err := os.ReadDir(ownerDir)
	if err != nil {
		return
	}
	for _, e := range entries {
		prefix := e.Name()
		b, err := os.ReadFile(filepath.Join(ownerDir, prefix))
		if err != nil || ownerRuns(string(b)) {
			continue
		}
		if Sweep(prefix+"-") == nil {
			release(prefix)
		}
	}
}

// processID is "pid starttime", which names one process for its life.
func processID(pid int) (string, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", fmt.Errorf("netns: process %d: %w", pid, err)
	}
	// Fields after the command name (which may hold spaces) start after ')';
	// the start time is field 22 of the whole line, 20 after ')'.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 20 {
		return "", fmt.Errorf("netns: process %d: short stat", pid)
	}
	return strconv.Itoa(pid) + " " + f[19], nil
}

// ownerRuns reports whether the process an owner record names still runs.
func ownerRuns(record string) bool {
	pid, err := strconv.Atoi(strings.Fields(record + " 0")[0])
	if err != nil {
		return true // not ours to judge: leave it
	}
	now, err := processID(pid)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && now != strings.TrimSpace(record)) {
		return false
	}
	return true
}
