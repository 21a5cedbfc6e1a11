// Package nslock keeps one svcnat agent per network namespace.
//
// Two agents programming the same namespace (say, a DaemonSet pod and a
// leftover systemd unit with other flags) would rewrite each other's table
// on every sync while both reported healthy. Acquire takes an exclusive,
// non-blocking flock on a file under Dir named after the namespace's
// device and inode, so every path to one namespace (/proc/PID/ns/net,
// /run/netns/NAME, a bind mount) names the same lock, and the kernel
// drops the lock when the holder exits, however it exits. The file holds
// the holder's pid, which the error of a second Acquire names.
package nslock
