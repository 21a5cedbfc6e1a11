package agent

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/svcnat/svcnat/netns"
)

const (
	// pollInterval spaces the checks of labtest.EventuallySince and Steady.
	pollInterval = 10 * time.Millisecond
	// probeTimeout bounds one dial of a probe; a dropped packet costs this much.
	probeTimeout = 300 * time.Millisecond
	// samples is how many connections a probe opens to see every endpoint
	// of a Service (two endpoints: both seen with probability 1-2^-7).
	samples = 8
)

// servedBy opens samples connections from h to dst and returns the pod
// addresses that answered.
func servedBy(ctx context.Context, h *netns.Host, proto netns.Proto, dst netip.AddrPort) ([]netip.Addr, error) {
	seen := map[netip.Addr]bool{}
	for range samples {
		r, err := h.Dial(ctx, proto, dst, probeTimeout)
		if err != nil {
			return nil, err
		}
		seen[r.Server.Addr()] = true
	}
	return slices.SortedFunc(maps.Keys(seen), netip.Addr.Compare), nil
}

// answeredBy checks that exactly want (sorted) answer at dst.
func answeredBy(h *netns.Host, proto netns.Proto, dst netip.AddrPort, want ...netip.Addr) func(context.Context) error {
	return func(ctx context.Context) error {
		got, err := servedBy(ctx, h, proto, dst)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("%s %s answered by %v, want %v", proto, dst, got, want)
		}
		return nil
	}
}

// unreachable checks that a connection to dst is refused or dropped.
func unreachable(h *netns.Host, proto netns.Proto, dst netip.AddrPort) func(context.Context) error {
	return func(ctx context.Context) error {
		r, err := h.Dial(ctx, proto, dst, probeTimeout)
		switch {
		case err == nil:
			return fmt.Errorf("%s %s still answered by %v", proto, dst, r.Server)
		case netns.IsRefused(err) || netns.IsTimeout(err):
			return nil
		}
		return fmt.Errorf("%s %s: unexpected error: %w", proto, dst, err)
	}
}
