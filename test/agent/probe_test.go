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
	// pollInterval spaces the checks of eventually.
	pollInterval = 10 * time.Millisecond
	// probeTimeout bounds one dial of a probe; a dropped packet costs this much.
	probeTimeout = 300 * time.Millisecond
	// samples is how many connections a probe opens to see every endpoint
	// of a Service (two endpoints: both seen with probability 1-2^-7).
	samples = 8
)

// eventually calls check until it returns nil and returns the time from
// since to that success. It gives up limit after since (or when ctx is
// done) with check's last error.
func eventually(ctx context.Context, since time.Time, limit time.Duration, check func(context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(ctx, since.Add(limit))
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return time.Since(since), nil
		}
		select {
		case <-ctx.Done():
			return time.Since(since), fmt.Errorf("not within %v: %w", limit, err)
		case <-time.After(pollInterval):
		}
	}
}

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

// steady calls check repeatedly for d and returns its first error.
func steady(ctx context.Context, d time.Duration, check func(context.Context) error) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := check(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollInterval):
		}
	}
	return nil
}
