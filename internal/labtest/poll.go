package labtest

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// permanent marks a check's error that no further try can change.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err so that Eventually gives up at once (say, the
// process being waited for has exited). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Eventually calls check every interval until it returns nil, and returns
// how long that took. It gives up after limit, when ctx ends, or when
// check returns a Permanent error, with check's last error.
func Eventually(ctx context.Context, limit, interval time.Duration, check func(context.Context) error) (time.Duration, error) {
	return EventuallySince(ctx, time.Now(), limit, interval, check)
}

// EventuallySince is Eventually measured from since (say, when a change
// was written), and limit counts from since too. check's context ends at
// that limit.
func EventuallySince(ctx context.Context, since time.Time, limit, interval time.Duration, check func(context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithDeadline(ctx, since.Add(limit))
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return time.Since(since), nil
		}
		var p permanent
		if errors.As(err, &p) {
			return time.Since(since), p.err
		}
		select {
		case <-ctx.Done():
			return time.Since(since), fmt.Errorf("not within %v: %w", limit, err)
		case <-time.After(interval):
		}
	}
}

// Steady calls check every interval for d and returns its first error, or
// ctx's when ctx ends first.
func Steady(ctx context.Context, d, interval time.Duration, check func(context.Context) error) error {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := check(ctx); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}
