package stats

import "time"

// Result is one outcome, as a value: what a test case (or the runner, for a
// dropped or panicking iteration) emits, and what every sink consumes
// (Locust stats, the terminal, a report, Prometheus).
type Result struct {
	Method, Name string
	// Aside marks a row that stands beside the Aggregated total: the send,
	// inclusion and e2e rows of an iteration, and dropped iterations. Only
	// iterations count in the total and in the failure ratio.
	Aside bool
	// Latency is measured from the iteration's due time, so a slot the
	// pacer could not serve on time shows as latency (no coordinated
	// omission).
	Latency time.Duration
	// Work is how long the work itself took, from when a user started it;
	// 0 when it is not known apart from Latency.
	Work  time.Duration
	Bytes int64
	Err   error // nil: success
	// End is when the outcome was known (for a transaction, its block's
	// time); zero when unknown. Sinks that bucket by time use it.
	End time.Time
	// Case, Chain and Direction label the row for sinks that group by
	// them (Prometheus): the test case, the chain that holds the
	// transaction ("main", "service") and a bridge row's direction
	// ("main-to-service", "service-to-main"). Empty when not known.
	Case, Chain, Direction string
}

// Sink consumes results. Implementations are safe for concurrent use.
type Sink interface {
	Record(Result)
}

// Tee records every result to each of its sinks, in order: the runner is
// given one Sink, and Locust stats, the terminal, a report and Prometheus
// each consume the same stream.
type Tee []Sink

// Record implements Sink.
func (t Tee) Record(r Result) {
	for _, s := range t {
		s.Record(r)
	}
}
