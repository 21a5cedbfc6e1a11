//go:build fleet

package fleet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/svcnat/svcnat/netns"
)

const (
	// probeEvery spaces a node's dials while it waits for a change.
	probeEvery = 20 * time.Millisecond
	// probeDialTimeout bounds one dial: a ClusterIP without rules leads to
	// Control, which drops it.
	probeDialTimeout = 500 * time.Millisecond
)

// awaitEverywhere dials dst from every node's client pod until want
// answers, and returns per node the time from since until then.
func awaitEverywhere(ctx context.Context, nodes []*netns.FleetNode, dst netip.AddrPort, want netip.Addr, since time.Time, limit time.Duration) ([]time.Duration, error) {
	took := make([]time.Duration, len(nodes))
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			took[i], errs[i] = awaitAnswer(ctx, n, dst, want, since, limit)
		}()
	}
	wg.Wait()
	return took, errors.Join(errs...)
}

// awaitAnswer dials dst from n's client pod until want answers (any
// answer when want is invalid).
func awaitAnswer(ctx context.Context, n *netns.FleetNode, dst netip.AddrPort, want netip.Addr, since time.Time, limit time.Duration) (time.Duration, error) {
	var last string
	for {
		r, err := n.Client.Dial(ctx, netns.TCP, dst, probeDialTimeout)
		switch {
		case err == nil && (!want.IsValid() || r.Server.Addr() == want):
			return time.Since(since), nil
		case err == nil:
			last = "answered by " + r.Server.String()
		default:
			last = err.Error()
		}
		if time.Since(since) > limit {
			return time.Since(since), fmt.Errorf("%s: %s not served by %s after %v (last: %s)", n.Name, dst, want, limit, last)
		}
		select {
		case <-ctx.Done():
			return time.Since(since), ctx.Err()
		case <-time.After(probeEvery):
		}
	}
}

// moveAndMeasure moves probe k's endpoint and returns, per node, the time
// from just before the API write until the node serves the new endpoint.
func (l *load) moveAndMeasure(ctx context.Context, k int, limit time.Duration) ([]time.Duration, error) {
	ip, written, err := l.moveProbe(ctx, k)
	if err != nil {
		return nil, fmt.Errorf("move probe-%d: %w", k, err)
	}
	clusterIP, _ := l.probe(k)
	return awaitEverywhere(ctx, l.nodes, netip.AddrPortFrom(clusterIP, servicePort), ip, written, limit)
}

// serves checks that node n has programmed every probe Service and the
// sample of generated ones.
func (l *load) serves(ctx context.Context, n *netns.FleetNode, sample []*service) error {
	for k := range l.probes {
		clusterIP, ep := l.probe(k)
		if _, err := awaitAnswer(ctx, n, netip.AddrPortFrom(clusterIP, servicePort), ep, time.Now(), 0); err != nil {
			return err
		}
	}
	for _, s := range sample {
		l.mu.Lock()
		dst := netip.AddrPortFrom(s.clusterIP, servicePort)
		l.mu.Unlock()
		if _, err := awaitAnswer(ctx, n, dst, netip.Addr{}, time.Now(), 0); err != nil {
			return err
		}
	}
	return nil
}
