package iptables_test

import (
	"context"
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/iptables"
	"github.com/svcnat/svcnat/internal/flowtest"
)

// modes are the iptables flavours every traffic test runs with.
var modes = []iptables.Mode{iptables.ModeNFT, iptables.ModeLegacy}

// factory returns the flowtest.Factory of the iptables backend in mode.
func factory(mode iptables.Mode) flowtest.Factory {
	return func(t testing.TB, netnsPath string) backend.Backend {
		t.Helper()
		b, err := iptables.New(context.Background(), iptables.Options{
			Options: backend.Options{NetNS: netnsPath},
			Mode:    mode,
		})
		if err != nil {
			t.Fatalf("iptables backend (%s): %v", mode, err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
}

// TestScenarioTraffic sends every row of every packet-flow table through
// rules programmed by the iptables backend, with iptables-nft and
// iptables-legacy, in a network-namespace lab.
func TestScenarioTraffic(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			flowtest.Scenarios(t, factory(mode))
		})
	}
}

// TestContinuity: connections to a Service whose endpoints stay survive
// 100 successive applies.
func TestContinuity(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			flowtest.Continuity(t, factory(mode))
		})
	}
}

// TestLocalhostNodePort: 127.0.0.1:nodePort is refused, route_localnet stays 0.
func TestLocalhostNodePort(t *testing.T) {
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			flowtest.Localhost(t, factory(mode))
		})
	}
}
