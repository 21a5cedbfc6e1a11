package version

import (
	"runtime/debug"
	"strings"
)

// version is set by the linker:
//
//	go build -ldflags "-X github.com/svcnat/svcnat/internal/version.version=v1.2.3"
var version string

// unknown is what Version returns when neither the linker nor the build
// info says anything (a binary built without VCS information, e.g. from a
// source archive).
const unknown = "unknown"

// buildInfo is debug.ReadBuildInfo, replaceable in tests.
var buildInfo = debug.ReadBuildInfo

// Version returns the release of this binary: the value set at link time,
// else the main module's version (for `go install module@version`), else
// the VCS revision (12 hex digits, "-dirty" when the tree was modified),
// else "unknown".
func Version() string {
	if version != "" {
		return version
	}
	info, ok := buildInfo()
	if !ok {
		return unknown
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := vcs(info)
	if rev == "" {
		return unknown
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// Revision returns the full VCS revision recorded by the toolchain, with
// "-dirty" when the tree was modified; empty when not recorded.
func Revision() string {
	info, ok := buildInfo()
	if !ok {
		return ""
	}
	rev, dirty := vcs(info)
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// vcs reads vcs.revision and vcs.modified from the build settings.
func vcs(info *debug.BuildInfo) (rev string, dirty bool) {
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = strings.EqualFold(s.Value, "true")
		}
	}
	return rev, dirty
}
