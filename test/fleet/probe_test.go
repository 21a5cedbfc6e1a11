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
	// probeEvery spaces a node's dials while it waits for a change (at
	// most probeDialTimeout/probeEvery of them are in flight).
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
// answer when want is invalid). A dial made before the node's rules serve
// dst hangs until probeDialTimeout, so a new dial starts every probeEvery
// while earlier ones are still waiting: the time measured is that of the
// first dial that got through, within probeEvery of the rules going live,
// not one dial timeout later. With limit 0 the first dial decides.
func awaitAnswer(ctx context.Context, n *netns.FleetNode, dst netip.AddrPort, want netip.Addr, since time.Time, limit time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the dials still waiting
	results := make(chan error)
	dial := func() {
		r, err := n.Client.Dial(ctx, netns.TCP, dst, probeDialTimeout)
		if err == nil && want.IsValid() && r.Server.Addr() != want {
			err = fmt.Errorf("answered by %s", r.Server)
		}
		select {
		case results <- err:
		case <-ctx.Done():
		}
	}
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	go dial()
	for {
		select {
		case err := <-results:
			switch {
			case err == nil:
				return time.Since(since), nil
			case time.Since(since) > limit:
				return time.Since(since), fmt.Errorf("%s: %s not served by %s after %v (last: %v)", n.Name, dst, want, limit, err)
			}
		case <-tick.C:
			if limit > 0 {
				go dial()
			}
		case <-ctx.Done():
			return time.Since(since), ctx.Err()
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
