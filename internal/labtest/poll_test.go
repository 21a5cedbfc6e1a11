package labtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/svcnat/svcnat/internal/labtest"
)

func TestEventually(t *testing.T) {
	ctx := t.Context()
	calls := 0
	d, err := labtest.Eventually(ctx, 5*time.Second, 10*time.Millisecond, func(context.Context) error {
		if calls++; calls < 4 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 4 || d < 30*time.Millisecond {
		t.Errorf("success on the 4th call: %v after %v and %d calls", err, d, calls)
	}

	d, err = labtest.Eventually(ctx, 100*time.Millisecond, 10*time.Millisecond, func(context.Context) error {
		return errors.New("never")
	})
	if err == nil || !strings.Contains(err.Error(), "not within 100ms: never") || d < 100*time.Millisecond || d > 2*time.Second {
		t.Errorf("timeout: %v after %v", err, d)
	}

	gone := errors.New("process exited")
	d, err = labtest.Eventually(ctx, 10*time.Second, 10*time.Millisecond, func(context.Context) error {
		return labtest.Permanent(gone)
	})
	if !errors.Is(err, gone) || d > time.Second {
		t.Errorf("permanent: %v after %v", err, d)
	}
	if labtest.Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}

func TestEventuallySince(t *testing.T) {
	since := time.Now().Add(-time.Second)
	d, err := labtest.EventuallySince(t.Context(), since, 5*time.Second, 10*time.Millisecond, func(context.Context) error { return nil })
	if err != nil || d < time.Second {
		t.Errorf("measured from since: %v, %v", d, err)
	}
	_, err = labtest.EventuallySince(t.Context(), since, 500*time.Millisecond, 10*time.Millisecond, func(context.Context) error { return errors.New("late") })
	if err == nil {
		t.Error("a limit already past since did not fail")
	}
}

func TestSteady(t *testing.T) {
	calls := 0
	err := labtest.Steady(t.Context(), 100*time.Millisecond, 10*time.Millisecond, func(context.Context) error {
		calls++
		return nil
	})
	if err != nil || calls < 3 {
		t.Errorf("steady: %v after %d calls", err, calls)
	}
	calls = 0
	err = labtest.Steady(t.Context(), time.Second, 10*time.Millisecond, func(context.Context) error {
		if calls++; calls == 3 {
			return errors.New("broke")
		}
		return nil
	})
	if err == nil || err.Error() != "broke" || calls != 3 {
		t.Errorf("breaks on the 3rd call: %v after %d calls", err, calls)
	}
}
