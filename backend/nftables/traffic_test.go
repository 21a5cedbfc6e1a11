package nftables_test

import (
	"testing"

	"github.com/svcnat/svcnat/backend"
	"github.com/svcnat/svcnat/backend/nftables"
	"github.com/svcnat/svcnat/internal/flowtest"
)

// newBackend is the flowtest.Factory of the nftables backend.
func newBackend(t testing.TB, netnsPath string) backend.Backend {
	t.Helper()
	b, err := nftables.New(backend.Options{NetNS: netnsPath})
	if err != nil {
		t.Fatalf("nftables backend: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestScenarioTraffic sends every row of every packet-flow table through
// rules programmed by the nftables backend in a network-namespace lab.
func TestScenarioTraffic(t *testing.T) {
	flowtest.Scenarios(t, newBackend)
}

// TestContinuity: connections to a Service whose endpoints stay survive
// 100 successive applies.
func TestContinuity(t *testing.T) {
	t.Parallel()
	flowtest.Continuity(t, newBackend)
}

// TestLocalhostNodePort: 127.0.0.1:nodePort is refused, route_localnet stays 0.
func TestLocalhostNodePort(t *testing.T) {
	t.Parallel()
	flowtest.Localhost(t, newBackend)
}
