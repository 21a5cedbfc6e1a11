package version

import (
	"runtime/debug"
	"testing"
)

func TestVersion(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name         string
		linked       string
		info         *debug.BuildInfo // nil: no build info
		want, wantRv string
	}{
		{name: "set by the linker wins", linked: "v1.2.3-4-gabcdef0", info: infoWith("(devel)", rev, "false"),
			want: "v1.2.3-4-gabcdef0", wantRv: rev},
		{name: "module version", info: infoWith("v0.3.0", "", ""), want: "v0.3.0"},
		{name: "clean revision", info: infoWith("(devel)", rev, "false"), want: "0123456789ab", wantRv: rev},
		{name: "dirty revision", info: infoWith("(devel)", rev, "true"), want: "0123456789ab-dirty", wantRv: rev + "-dirty"},
		{name: "nothing recorded", info: infoWith("(devel)", "", ""), want: "unknown"},
		{name: "no build info", want: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func(v string, bi func() (*debug.BuildInfo, bool)) { version, buildInfo = v, bi }(version, buildInfo)
			version = tc.linked
			buildInfo = func() (*debug.BuildInfo, bool) { return tc.info, tc.info != nil }
			if got := Version(); got != tc.want {
				t.Errorf("Version() = %q, want %q", got, tc.want)
			}
			if got := Revision(); got != tc.wantRv {
				t.Errorf("Revision() = %q, want %q", got, tc.wantRv)
			}
		})
	}
}

func infoWith(mainVersion, rev, modified string) *debug.BuildInfo {
	bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/svcnat/svcnat", Version: mainVersion}}
	if rev != "" {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: rev})
	}
	if modified != "" {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
	}
	return bi
}
