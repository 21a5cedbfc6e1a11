//go:build fleet

package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
	"github.com/svcnat/svcnat/netns"
)

const (
	// connectEvery spaces each client pod's new connections.
	connectEvery = 100 * time.Millisecond
	// connectTimeout bounds one connection; longer counts as failed.
	connectTimeout = 2 * time.Second
)

// traffic is one client pod per node opening connections to Services whose
// pods are all on other nodes. It can pause (while a node's rules are
// flushed on purpose) and keeps the counts across pauses.
type traffic struct {
	ctx   context.Context
	load  *load
	nodes []*netns.FleetNode

	mu       sync.Mutex
	running  []*labtest.Traffic
	ok       int
	failures []string
}

func startTraffic(ctx context.Context, l *load, nodes []*netns.FleetNode) *traffic {
	tr := &traffic{ctx: ctx, load: l, nodes: nodes}
	tr.resume()
	return tr
}

func (tr *traffic) resume() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i, n := range tr.nodes {
		tr.running = append(tr.running, labtest.StartTraffic(tr.ctx, connectEvery, func(ctx context.Context) error {
			dst := tr.load.target(i)
			if _, err := n.Client.Dial(ctx, netns.TCP, dst, connectTimeout); err != nil {
				return fmt.Errorf("%s → %s: %w", n.Name, dst, err)
			}
			return nil
		}))
	}
}

// pause stops the clients and adds up what they saw.
func (tr *traffic) pause() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, t := range tr.running {
		res := t.Stop()
		tr.ok += res.OK
		tr.failures = append(tr.failures, res.Failures...)
	}
	tr.running = nil
}

// failed is the number of failures so far (running clients included).
func (tr *traffic) failed() int {
	tr.pause()
	n := len(tr.failures)
	tr.resume()
	return n
}

// stop ends the traffic: attempts, failures and their descriptions.
func (tr *traffic) stop() (attempts, failed int, failures []string) {
	tr.pause()
	return tr.ok + len(tr.failures), len(tr.failures), tr.failures
}

// churn replaces endpoints of random Services at a steady rate.
type churn struct {
	cancel context.CancelFunc
	done   chan struct{}
	writes int
	errs   int
}

func startChurn(ctx context.Context, l *load, perSecond float64) *churn {
	ctx, cancel := context.WithCancel(ctx)
	c := &churn{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			// An API server outage makes writes fail; the churn goes on.
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := l.replaceEndpoint(wctx); err != nil {
				c.errs++
			} else {
				c.writes++
			}
			cancel()
		}
	}()
	return c
}

// stop ends the churn: the writes that succeeded and those that failed.
func (c *churn) stop() (writes, errs int) {
	c.cancel()
	<-c.done
	return c.writes, c.errs
}
