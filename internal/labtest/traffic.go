package labtest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/svcnat/svcnat/netns"
)

// TrafficLimit bounds every Traffic: it stops by itself after this long
// even if Stop is never called (and says so in its failures).
const TrafficLimit = 15 * time.Minute

// Traffic runs one kind of attempt (a new connection, a ping on a held
// one) at a fixed interval in the background while something changes, and
// counts what succeeded and what failed, with the time and reason of each
// failure.
type Traffic struct {
	stop context.CancelCauseFunc
	done chan struct{}

	mu     sync.Mutex
	result TrafficResult
}

// TrafficResult is what a Traffic saw.
type TrafficResult struct {
	OK int
	// Failures are "15:04:05.000 reason", in order.
	Failures []string
}

// Total is the number of attempts counted.
func (r TrafficResult) Total() int { return r.OK + len(r.Failures) }

// StartTraffic calls try every interval until Stop, ctx's end or
// TrafficLimit. An attempt cut short by Stop is not counted.
func StartTraffic(ctx context.Context, every time.Duration, try func(context.Context) error) *Traffic {
	ctx, stop := context.WithCancelCause(ctx)
	tr := &Traffic{stop: stop, done: make(chan struct{})}
	go tr.loop(ctx, every, try)
	return tr
}

func (tr *Traffic) loop(ctx context.Context, every time.Duration, try func(context.Context) error) {
	defer close(tr.done)
	ctx, cancel := context.WithTimeout(ctx, TrafficLimit)
	defer cancel()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		err := try(ctx)
		if ctx.Err() != nil {
			tr.noteEnd(ctx)
			return
		}
		tr.mu.Lock()
		if err != nil {
			tr.result.Failures = append(tr.result.Failures, stamp()+" "+err.Error())
		} else {
			tr.result.OK++
		}
		tr.mu.Unlock()
		select {
		case <-ctx.Done():
			tr.noteEnd(ctx)
			return
		case <-tick.C:
		}
	}
}

// noteEnd records an end that Stop did not ask for.
func (tr *Traffic) noteEnd(ctx context.Context) {
	if errors.Is(context.Cause(ctx), errStopped) {
		return
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.result.Failures = append(tr.result.Failures, stamp()+" traffic ended before Stop: "+ctx.Err().Error())
}

// errStopped is the cause Stop cancels with.
var errStopped = errors.New("traffic stopped")

// Stop ends the traffic and returns what it saw.
func (tr *Traffic) Stop() TrafficResult {
	tr.stop(errStopped)
	<-tr.done
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.result
}

// DialCheck is an attempt for StartTraffic: one new connection from `from`
// to dst, answered within timeout (0: netns's default).
func DialCheck(from *netns.Host, proto netns.Proto, dst netip.AddrPort, timeout time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := from.Dial(ctx, proto, dst, timeout)
		return err
	}
}

// PingCheck is an attempt for StartTraffic: one more exchange on conn,
// which must still reach the server it first reached.
func PingCheck(conn *netns.Conn) func(context.Context) error {
	first := conn.First().Server
	return func(context.Context) error {
		r, err := conn.Ping()
		if err == nil && r.Server != first {
			err = fmt.Errorf("established connection moved from %v to %v", first, r.Server)
		}
		return err
	}
}
