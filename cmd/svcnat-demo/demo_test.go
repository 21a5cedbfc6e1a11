package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// TestDemo runs `make demo`'s program end to end on both backends, so the
// README's first command keeps working.
func TestDemo(t *testing.T) {
	if err := netns.Supported(); err != nil {
		t.Skip(err)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the demo needs curl")
	}
	bin := filepath.Join(t.TempDir(), "svcnat")
	build := exec.Command("go", "build", "-o", bin, "github.com/svcnat/svcnat/cmd/svcnat")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build svcnat: %v", err)
	}
	for _, backendName := range []string{"nftables", "iptables"} {
		t.Run(backendName, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			if err := run(ctx, bin, backendName); err != nil {
				t.Fatal(err)
			}
		})
	}
}
