package runner

import "context"

// Stop adapts StopAll to locust.Users' bounded stop until the runner gives
// calls in flight a grace of their own and counts the cancelled ones: no
// new iteration starts, and Stop waits for the running ones only until ctx
// ends, so that the Locust worker sends its final stats in time. An
// iteration still running then finishes and records in the background
// (its result goes in a later report, or is lost if the worker quits).
func (r *Runner) Stop(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		r.StopAll()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
