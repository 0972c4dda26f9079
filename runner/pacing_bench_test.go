package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// stampRecorder keeps the time of every recorded request.
type stampRecorder struct {
	mu    sync.Mutex
	times []time.Time
	fails int
}

func (s *stampRecorder) Record(r stats.Result) {
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	if r.Err != nil {
		s.fails++
	}
	s.mu.Unlock()
}

// noopTask does nothing: the runner's own overhead.
var noopTask = TaskFunc(func(_ context.Context, it Iteration, out stats.Sink) {
	out.Record(it.Result("noop", "noop", nil))
})

// postTask POSTs a JSON-RPC call to url, as rpcPing does.
func postTask(c *http.Client, url string) Task {
	return TaskFunc(func(ctx context.Context, it Iteration, out stats.Sink) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"klay_blockNumber","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		out.Record(it.Result("rpc", "rpcPing", err))
	})
}

// pacingRun runs task with users users capped at rps for d, and returns the
// achieved rate (requests between the first and the last, over that time)
// and the largest 100 ms window relative to the mean window.
//
// At 10 rps a 100 ms window holds one request on average, so one window with
// two (a pair 99 ms apart, split by the window edges) reads as 2× the mean;
// minGap, the closest two requests relative to the 1/rps interval, shows
// whether that is a burst or not.
func pacingRun(b *testing.B, task Task, users int, rps float64, d time.Duration) (achieved, peak, minGap float64, fails int) {
	rec := &stampRecorder{}
	r := New(Config{Tasks: []Named{{Name: "t", Task: task}}, Sink: rec, MaxRPS: rps})
	r.Spawn(map[string]int{"User": users})
	time.Sleep(d)
	r.Stop(context.Background())
	ts := rec.times
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	if len(ts) < 2 {
		b.Fatalf("only %d requests", len(ts))
	}
	span := ts[len(ts)-1].Sub(ts[0])
	achieved = float64(len(ts)-1) / span.Seconds()
	// Whole 100 ms windows from the first request.
	const win = 100 * time.Millisecond
	counts := make([]int, int(span/win))
	for _, t := range ts {
		if i := int(t.Sub(ts[0]) / win); i < len(counts) {
			counts[i]++
		}
	}
	maxc, sum := 0, 0
	for _, c := range counts {
		sum += c
		maxc = max(maxc, c)
	}
	mean := float64(sum) / float64(len(counts))
	gap := span
	for i := 1; i < len(ts); i++ {
		gap = min(gap, ts[i].Sub(ts[i-1]))
	}
	return achieved, float64(maxc) / mean, gap.Seconds() * rps, rec.fails
}

// BenchmarkPacing checks -max-rps accuracy and smoothness on noop and on
// rpcPing against a local JSON-RPC sink. Run it once per rate:
//
//	go test ./runner -run=^$ -bench=Pacing -benchtime=1x
func BenchmarkPacing(b *testing.B) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x1"}`)
	}))
	defer sink.Close()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 200
	tasks := map[string]Task{"noop": noopTask, "rpcPing": postTask(&http.Client{Transport: tr}, sink.URL)}
	for _, name := range []string{"noop", "rpcPing"} {
		task := tasks[name]
		for _, rps := range []float64{10, 100, 1000, 10000} {
			d := 5 * time.Second
			if rps == 10 {
				d = 20 * time.Second // 200 requests, so 1 % is 2 requests
			}
			b.Run(fmt.Sprintf("%s/rps=%v", name, rps), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					achieved, peak, minGap, fails := pacingRun(b, task, 100, rps, d)
					b.ReportMetric(achieved, "req/s")
					b.ReportMetric(achieved/rps, "achieved/target")
					b.ReportMetric(peak, "peak100ms/mean")
					b.ReportMetric(minGap, "mingap/interval")
					if fails > 0 {
						b.Errorf("%d failures", fails)
					}
				}
			})
		}
	}
}

// BenchmarkMemory10kUsers measures the heap held by 10,000 paced noop users.
//
//	go test ./runner -run=^$ -bench=Memory -benchtime=1x
func BenchmarkMemory10kUsers(b *testing.B) {
	task := noopTask
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := New(Config{Tasks: []Named{{Name: "noop", Task: task}}, Sink: stats.NewCollector(nil), MaxRPS: 1000})
		r.Spawn(map[string]int{"User": 10000})
		time.Sleep(time.Second)
		runtime.GC()
		runtime.ReadMemStats(&after)
		r.Stop(context.Background())
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10000, "heapB/user")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/10000, "stackB/user")
		b.ReportMetric(float64(after.Sys)/(1<<20), "sysMiB")
	}
}
