// Package reads benchmarks klayslave's read path (runner, read task,
// jsonrpc fast path, stats collector) against a plain net/http loop with
// the same concurrency, both posting to the same local JSON-RPC sink, in
// the same run:
//
//	go test ./bench/reads -run='^$' -bench=Reads -benchtime=1x
//
// READS_USERS (default 32), READS_SECONDS (per turn, default 1) and
// READS_ROUNDS (default 10) change the concurrency and the length; the two
// contenders take short turns so that a neighbour's load hits both alike.
package reads

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klayslave/klayslave/jsonrpc"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

const answer = `{"jsonrpc":"2.0","id":1,"result":"0x1b4"}`

var request = []byte(`{"jsonrpc":"2.0","id":1,"method":"klay_blockNumber","params":[]}`)

// sink answers every request with a canned block number.
func sink() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// plainLoop is the peer: users goroutines, each POSTing the same request
// back to back with net/http and reading the answer, for d.
func plainLoop(url string, users int, d time.Duration) turn {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = users, users
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(request))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return newTurn(n.Load(), time.Since(start), cpuTime()-cpu0)
}

// klayslave runs the read case as 'klayslave run -tc=<name> -users <users>'
// does: the case prepared from the registry over the same transport cmd
// builds, users closed-loop users of the runner, results into a stats
// collector. It returns the successful reads per second.
func klayslave(b *testing.B, name, url string, users int, d time.Duration) turn {
	c, ok := tc.Builtin().Lookup(name)
	if !ok {
		b.Fatalf("no case %s", name)
	}
	tr := jsonrpc.NewTransport(max(users, 100))
	defer tr.CloseIdleConnections()
	task, err := c.New(context.Background(), &tc.Env{MCEndpoint: url, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	if err != nil {
		b.Fatal(err)
	}
	col := stats.NewCollector(nil)
	var sink stats.Sink = col
	var n atomic.Int64
	if os.Getenv("READS_SINK") == "count" {
		sink = countSink{&n}
	}
	r := runner.New(runner.Config{Tasks: []runner.Named{{Name: c.Name, Task: task}}, Sink: sink})
	cpu0 := cpuTime()
	start := time.Now()
	r.Spawn(map[string]int{"User": users})
	time.Sleep(d)
	r.Stop(context.Background())
	el, cpu := time.Since(start), cpuTime()-cpu0
	_, total := col.Summary()
	if os.Getenv("READS_SINK") == "count" {
		total.Requests = n.Load()
	}
	if total.Failures > 0 {
		b.Fatalf("%s: %d failures: %v", name, total.Failures, col.Errors())
	}
	return newTurn(total.Requests, el, cpu)
}

// turn is one contender's turn: requests per second and the process's CPU
// time per request (the sink's share included, the same for both).
type turn struct{ rate, cpuPerReq float64 }

func newTurn(n int64, el, cpu time.Duration) turn {
	return turn{rate: float64(n) / el.Seconds(), cpuPerReq: cpu.Seconds() / float64(max(n, 1))}
}

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReads reports the plain loop's and klayslave's requests per
// second and their ratio, for rpcPing and readBlockNumber.
func BenchmarkReads(b *testing.B) {
	srv := sink()
	defer srv.Close()
	users := envInt("READS_USERS", 32)
	d := time.Duration(envInt("READS_SECONDS", 1)) * time.Second
	rounds := envInt("READS_ROUNDS", 10)
	for _, name := range []string{"readBlockNumber", "rpcPing"} {
		b.Run(name+"/users="+strconv.Itoa(users), func(b *testing.B) {
			for range b.N {
				var plain, ks, plainCPU, ksCPU float64
				var ratios []float64
				for i := range rounds {
					// Alternate who goes first, so that neither always
					// follows the other's garbage.
					var p, k turn
					if i%2 == 0 {
						p = plainLoop(srv.URL, users, d)
						k = klayslave(b, name, srv.URL, users, d)
					} else {
						k = klayslave(b, name, srv.URL, users, d)
						p = plainLoop(srv.URL, users, d)
					}
					plain += p.rate
					ks += k.rate
					plainCPU += p.cpuPerReq
					ksCPU += k.cpuPerReq
					ratios = append(ratios, k.rate/p.rate)
				}
				sort.Float64s(ratios)
				n := float64(rounds)
				b.ReportMetric(plain/n, "plain-req/s")
				b.ReportMetric(ks/n, "klayslave-req/s")
				b.ReportMetric(ks/plain, "ratio")
				b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
				b.ReportMetric(1e6*plainCPU/n, "plain-cpu-µs/req")
				b.ReportMetric(1e6*ksCPU/n, "klayslave-cpu-µs/req")
			}
		})
	}
}

type countSink struct{ n *atomic.Int64 }

func (c countSink) Record(stats.Result) { c.n.Add(1) }
