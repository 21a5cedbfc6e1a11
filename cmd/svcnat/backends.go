package main

import (
	"context"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/synth"
)

// backendFlags choose and address a backend.
type backendFlags struct {
	name         string
	netns        string
	iptablesMode string
}

func (b *backendFlags) register(fs *pflag.FlagSet, kernel bool) {
	fs.StringVar(&b.name, "backend", "nftables", "rule `BACKEND`: nftables or iptables")
	fs.StringVar(&b.iptablesMode, "iptables-mode", "auto", "iptables flavour (`MODE`): auto, nft or legacy")
	if kernel {
		fs.StringVar(&b.netns, "netns", "", "network namespace: a `NAME` under /run/netns or a path (default: the current one)")
	}
}

// netnsPath turns a namespace name into its bind-mount path.
func (b *backendFlags) netnsPath() string { return netnsPath(b.netns) }

// renderFunc renders Rulesets to text without touching the kernel.
type renderFunc func(rs []*synth.Ruleset) ([]byte, error)

// renderer returns the dry-run renderer of the chosen backend. It needs no
// kernel access, so it works on any machine; iptables output assumes a
// host with MASQUERADE --random-fully (any current kernel).
func (b *backendFlags) renderer() (renderFunc, error) {
	switch b.name {
	case "nftables", "nft":
		return nftables.Render, nil
	case "iptables":
		return func(rs []*synth.Ruleset) ([]byte, error) {
			return iptables.Render(rs, iptables.RenderOptions{RandomFully: true})
		}, nil
	}
	return nil, usagef("--backend %q: want nftables or iptables", b.name)
}

// open builds the chosen backend for the target namespace.
func (b *backendFlags) open(ctx context.Context) (backend.Backend, error) {
	opts := backend.Options{NetNS: b.netnsPath()}
	var be backend.Backend
	var err error
	switch b.name {
	case "nftables", "nft":
		be, err = nftables.New(opts)
	case "iptables":
		be, err = iptables.New(ctx, iptables.Options{Options: opts, Mode: iptables.Mode(b.iptablesMode)})
	default:
		return nil, usagef("--backend %q: want nftables or iptables", b.name)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s backend: %w", b.name, err)
	}
	return be, nil
}
