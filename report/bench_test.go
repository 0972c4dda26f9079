package report

import (
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// The report's cost per result beside its peer in the same run, the
// Collector that every run already has: 1,000 goroutines recording at
// once, as in stats' BenchmarkRecordParallel.
func BenchmarkRecordParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		sink stats.Sink
	}{
		{"collector", stats.NewCollector(nil)},
		{"report", New(Config{})},
		{"tee", stats.Tee{stats.NewCollector(nil), New(Config{})}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(500)
			b.ReportAllocs()
			r := stats.Result{Method: "POST", Name: "rpcPing", Latency: 3 * time.Millisecond, Bytes: 100}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.sink.Record(r)
				}
			})
		})
	}
}
