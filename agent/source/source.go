package source

import (
	"context"
	"net/netip"

	"github.com/svcnat/svcnat/synth"
)

// Kind says what changed.
type Kind uint8

const (
	Service Kind = iota
	EndpointSlice
	Node
	ServiceCIDR
)

func (k Kind) String() string {
	switch k {
	case Service:
		return "Service"
	case EndpointSlice:
		return "EndpointSlice"
	case Node:
		return "Node"
	case ServiceCIDR:
		return "ServiceCIDR"
	}
	return "unknown"
}

// Handler receives a Source's notifications. Its methods must be cheap and
// must not block: they are called from informer and polling goroutines.
type Handler interface {
	// Changed says the state changed; Snapshot returns the new state.
	Changed(kind Kind)
	// InputError reports input that could not be read; the source keeps
	// its last good state.
	InputError(err error)
}

// State is a Source's complete state.
type State struct {
	Input synth.Input
	// ServiceCIDRs are the ranges of ServiceCIDR objects; nil when the
	// source has none (the agent then uses its configured ranges).
	ServiceCIDRs []netip.Prefix
}

// Source is where the agent's state comes from.
type Source interface {
	// Run starts watching and notifies h until ctx is done. It returns an
	// error when it cannot start; nil after ctx is done.
	Run(ctx context.Context, h Handler) error
	// Synced is closed once Snapshot returns the complete initial state.
	Synced() <-chan struct{}
	// Snapshot returns the current state. Objects are shared with the
	// source and must not be modified.
	Snapshot() State
}
