package klay

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestPollBounds checks Poll's three ways out besides success: the
// timeout, the caller's context and an error from the condition.
func TestPollBounds(t *testing.T) {
	ctx := context.Background()
	calls := 0
	start := time.Now()
	err := Poll(ctx, 300*time.Millisecond, func() (bool, error) { calls++; return false, nil })
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("never-true condition: %v, want ErrTimeout", err)
	}
	if calls < 2 || time.Since(start) > 5*time.Second {
		t.Fatalf("%d calls in %s", calls, time.Since(start))
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := Poll(cctx, time.Hour, func() (bool, error) { return false, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}

	boom := errors.New("boom")
	if err := Poll(ctx, time.Hour, func() (bool, error) { return false, boom }); err != boom {
		t.Fatalf("condition error: %v", err)
	}
	n := 0
	if err := Poll(ctx, time.Hour, func() (bool, error) { n++; return n == 3, nil }); err != nil || n != 3 {
		t.Fatalf("true on the third call: %v after %d calls", err, n)
	}
}

func TestWithMargin(t *testing.T) {
	if got := WithMargin(21000); got != 31500 {
		t.Fatalf("WithMargin(21000) = %d, want 31500", got)
	}
}
