//go:build image

package image

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// launchEnv carries a launch, as JSON, to the re-executed test binary.
const launchEnv = "SVCNAT_IMAGE_LAUNCH"

// launch is what a container runtime would do for one container: mounts
// into the image's root, then chroot and the container's capabilities.
type launch struct {
	Root   string
	Mounts []mount
	// Caps are the capability names (NET_ADMIN, ...) kept in the bounding
	// set; a uid 0 process gets exactly those when it execs.
	Caps []string
	Env  []string
	Argv []string
}

// mount is one mount inside Root. Type is "bind", "proc", "sysfs" or
// "dev" (a tmpfs with the devices every container gets).
type mount struct {
	Type     string
	Source   string
	Target   string // inside Root
	File     bool   // the target is a file (bind mounts of files)
	ReadOnly bool
}

// command returns argv for the node's Command: the test binary again, which
// TestMain turns into launchChild.
func (l launch) command() ([]string, []string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	data, err := json.Marshal(l)
	if err != nil {
		return nil, nil, err
	}
	return []string{self}, []string{launchEnv + "=" + string(data)}, nil
}

// launchChild runs in the re-executed test binary, inside the node's
// network namespace and the private mount namespace that `ip netns exec`
// made. It never returns.
func launchChild() {
	// Capabilities and exec act on this thread: stay on it.
	runtime.LockOSThread()
	var l launch
	err := json.Unmarshal([]byte(os.Getenv(launchEnv)), &l)
	if err == nil {
		err = l.enter()
	}
	fmt.Fprintln(os.Stderr, "launch:", err)
	os.Exit(127)
}

// enter sets up the container and execs its command; it returns only on
// failure.
func (l launch) enter() error {
	lastCap, err := readLastCap()
	if err != nil {
		return err
	}
	keep, err := capNumbers(l.Caps)
	if err != nil {
		return err
	}
	if err := l.mountAll(); err != nil {
		return err
	}
	if err := unix.Chroot(l.Root); err != nil {
		return fmt.Errorf("chroot %s: %w", l.Root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return err
	}
	if err := limitCaps(keep, lastCap); err != nil {
		return err
	}
	// allowPrivilegeEscalation: false.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	return syscall.Exec(l.Argv[0], l.Argv, l.Env)
}

// mountAll binds the root onto itself, mounts the volumes, and then makes
// the root read-only (readOnlyRootFilesystem); the volumes keep their own
// flags. Mount points are created as a runtime would.
func (l launch) mountAll() error {
	if err := unix.Mount(l.Root, l.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind the root: %w", err)
	}
	for _, m := range l.Mounts {
		if err := m.apply(l.Root); err != nil {
			return fmt.Errorf("mount %s at %s: %w", m.Source, m.Target, err)
		}
	}
	return unix.Mount("", l.Root, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
}

func (m mount) apply(root string) error {
	target := filepath.Join(root, m.Target)
	if err := mountPoint(target, m.File); err != nil {
		return err
	}
	var flags uintptr
	if m.ReadOnly {
		flags |= unix.MS_RDONLY
	}
	switch m.Type {
	case "proc":
		return unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	case "sysfs":
		return unix.Mount("sysfs", target, "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|flags, "")
	case "dev":
		return mountDev(target)
	case "bind":
		if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return err
		}
		if m.ReadOnly {
			return unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
		}
		return nil
	}
	return fmt.Errorf("unknown mount type %q", m.Type)
}

// containerDevices are the device nodes runtimes put in a container's /dev.
var containerDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// mountDev mounts a tmpfs at target with the host's containerDevices bound
// into it.
func mountDev(target string) error {
	if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=755,size=64k"); err != nil {
		return err
	}
	for _, d := range containerDevices {
		p := filepath.Join(target, d)
		if err := mountPoint(p, true); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+d, p, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("/dev/%s: %w", d, err)
		}
	}
	return nil
}

func mountPoint(target string, file bool) error {
	if !file {
		return os.MkdirAll(target, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// limitCaps drops every capability but keep from the bounding set and
// empties the inheritable and ambient sets. The effective and permitted
// sets of this (uid 0) process stay full until exec, which then grants
// exactly the bounding set, as a runtime's container process gets.
func limitCaps(keep map[int]bool, lastCap int) error {
	for c := 0; c <= lastCap; c++ {
		if keep[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	return unix.Capset(&hdr, &data[0])
}

func readLastCap() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// capNames are the capabilities the manifests may name.
var capNames = map[string]int{
	"NET_ADMIN":  unix.CAP_NET_ADMIN,
	"NET_RAW":    unix.CAP_NET_RAW,
	"SYS_ADMIN":  unix.CAP_SYS_ADMIN,
	"SYS_MODULE": unix.CAP_SYS_MODULE,
}

func capNumbers(names []string) (map[int]bool, error) {
	keep := map[int]bool{}
	for _, n := range names {
		c, ok := capNames[strings.TrimPrefix(strings.ToUpper(n), "CAP_")]
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		keep[c] = true
	}
	return keep, nil
}
