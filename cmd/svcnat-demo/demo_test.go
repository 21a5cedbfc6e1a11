package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
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
	root, err := labtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := labtest.BuildSvcnat(t.Context(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
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

func TestPreflight(t *testing.T) {
	have := func(tools ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, tool := range tools {
				if tool == name {
					return "/usr/bin/" + name, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	tests := []struct {
		name    string
		backend string
		euid    int
		look    func(string) (string, error)
		want    []string // substrings of the error; none: no error
	}{
		{"all there", "nftables", 0, have("ip", "curl", "nft"), nil},
		{"iptables all there", "iptables", 0, have("ip", "curl", "iptables-restore", "iptables-save"), nil},
		{"not root", "nftables", 1000, have("ip", "curl", "nft"), []string{"needs root", "sudo make demo"}},
		{"missing tools", "nftables", 0, have("ip"), []string{"curl (Debian package curl) is missing", "nft (Debian package nftables)", "apt-get install curl nftables"}},
		{"missing iptables", "iptables", 0, have("ip", "curl"), []string{"iptables-restore (Debian package iptables)", "apt-get install iptables\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := preflight(tc.backend, tc.euid, tc.look)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error()+"\n", w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	var out bytes.Buffer
	if code, err := start([]string{"--help"}, &out); code != 0 || err != nil || !strings.Contains(out.String(), "Usage:\n  svcnat-demo [flags]") {
		t.Errorf("--help: exit %d, %v:\n%s", code, err, out.String())
	}
	for _, args := range [][]string{{"--bogus"}, {"extra"}, {"--backend", "ebpf"}} {
		if code, err := start(args, &out); code != 2 || err == nil {
			t.Errorf("%q: exit %d, %v; want 2", args, code, err)
		}
	}
}
