package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/svcnat/svcnat/internal/version"
)

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "print the version",
		Long: `Version prints svcnat's version (the release it was built from, 'git describe'
form, or the VCS revision the Go toolchain recorded), then the full revision
when known, the Go version and the platform. 'svcnat --version' prints the
first line only.`,
		Example:           "  svcnat version\n  svcnat --version",
		Args:              noArgs,
		ValidArgsFunction: noFiles,
		RunE: body(func(*cobra.Command, []string) error {
			fmt.Fprintf(e.stdout, "svcnat %s\n", version.Version())
			if rev := version.Revision(); rev != "" {
				fmt.Fprintf(e.stdout, "revision: %s\n", rev)
			}
			fmt.Fprintf(e.stdout, "go: %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		}),
	}
}

// versionLine is what `svcnat run --version` prints, like kube-proxy's
// flag: one line, or with --version=raw every build detail.
func versionLine(raw bool) string {
	if !raw {
		return "svcnat " + version.Version()
	}
	return fmt.Sprintf("svcnat version=%s revision=%s go=%s platform=%s/%s",
		version.Version(), version.Revision(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
