package tc

import (
	"context"

	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// noop records a successful zero-time request without any I/O. It measures
// klayslave's own overhead: pacing, user scheduling and stats recording.
func noop() Case {
	return Case{
		Name:        "noop",
		Description: "does nothing and records success; measures klayslave's own overhead",
		Family:      "util",
		New: func(context.Context, *Env) (Task, error) {
			return TaskFunc(func(_ context.Context, it runner.Iteration, out stats.Sink) {
				out.Record(it.Result("noop", "noop", nil))
			}), nil
		},
	}
}
