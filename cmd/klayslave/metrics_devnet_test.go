package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/klayslave/klayslave/internal/devnettest"
)

// watchWriter is a run's stdout or stderr: it keeps what is written and,
// when a write holds a mark, calls its hook before returning, so a test can
// act at that point of the run (the run waits for it).
type watchWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	hooks map[string]func()
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	var run []func()
	for mark, f := range w.hooks {
		if bytes.Contains(p, []byte(mark)) {
			run = append(run, f)
			delete(w.hooks, mark)
		}
	}
	w.mu.Unlock()
	for _, f := range run {
		f()
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// scrape gets /metrics, checks it with promlint and parses it; nil after
// an error (it runs inside the run's writes, where Fatal would skip the
// sweep).
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("scrape: %v", err)
		return nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("scrape: %d %v", resp.StatusCode, err)
		return nil
	}
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v\n%s", problems, err, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Errorf("parse: %v", err)
		return nil
	}
	return fams
}

// sum adds the values of a family's series whose labels include match.
func sum(fams map[string]*dto.MetricFamily, name string, match ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var total float64
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(match); i += 2 {
			if labels[match[i]] != match[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

// summaryCounts reads "# reqs" and "# fails" of a row of the final summary.
func summaryCounts(t *testing.T, out, name string) (reqs, fails float64) {
	t.Helper()
	_, final, ok := strings.Cut(out, "Final summary:")
	if !ok {
		t.Fatalf("no final summary in:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` +(\d+) +(\d+) \|`).FindStringSubmatch(final)
	if m == nil {
		return 0, 0 // no such row: nothing counted
	}
	r, _ := strconv.ParseFloat(m[1], 64)
	f, _ := strconv.ParseFloat(m[2], 64)
	return r, f
}

// A standalone run of mcValueTransferTc at 20 tx/s serves /metrics: it
// passes promlint while the load runs and at the end, and the counters'
// final values equal the final summary's counts.
func TestMetricsDuringTheLoadEqualTheSummary(t *testing.T) {
	d := devnettest.Load(t)
	const c = "mcValueTransferTc"
	var url string
	urlSeen := regexp.MustCompile(`url=(http://\S+/metrics)`)
	stderr := &watchWriter{}
	stderr.hooks = map[string]func(){"serving Prometheus metrics": func() {
		url = urlSeen.FindStringSubmatch(stderr.String())[1]
	}}
	var during, final map[string]*dto.MetricFamily
	stdout := &watchWriter{}
	stdout.hooks = map[string]func(){
		// The first live table: the load runs.
		"users: 10": func() { during = scrape(t, url) },
		// The run waits here: the final stats are flushed, the sweep has
		// not begun, the server still answers.
		"Final summary:": func() { final = scrape(t, url) },
	}
	args := []string{"run", "-tc=" + c, "-mcKey=" + d.DevKeys.Spare[14], "-numMcUser=10", "-numScUser=0", "-charge=1",
		"-mcEndpoint", d.MainChain.RPC, "-mcWsEndpoint", d.MainChain.WS,
		"-users=10", "-spawn-rate=0", "-max-rps=20", "-run-time=8s", "-report-interval=2s",
		"-metrics-addr=127.0.0.1:0", "-log-dir", t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := run(ctx, args, stdout, stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	if during == nil || final == nil {
		t.Fatalf("scraped during: %v, at the end: %v (url %q)", during != nil, final != nil, url)
	}
	if sum(during, "klayslave_users") != 10 {
		t.Errorf("klayslave_users during the load = %v, want 10", sum(during, "klayslave_users"))
	}
	for _, name := range []string{"klayslave_txpool_pending", "klayslave_txpool_queued", "klayslave_transactions_in_flight",
		"klayslave_blocks_total", "klayslave_last_block_transactions"} {
		if during[name] == nil {
			t.Errorf("no %s during the load", name)
		}
	}

	sendReqs, sendFails := summaryCounts(t, out, c+" send")
	iterReqs, iterFails := summaryCounts(t, out, c)
	aggReqs, aggFails := summaryCounts(t, out, "Aggregated")
	unconfirmed, _ := summaryCounts(t, out, c+" unconfirmed")
	dropped, _ := summaryCounts(t, out, "dropped iterations")
	if iterReqs < 100 {
		t.Fatalf("%v iterations in 8 s at 20/s, want 100 or more:\n%s", iterReqs, out)
	}
	lbl := []string{"case", c, "chain", "main"}
	for _, e := range []struct {
		what      string
		got, want float64
	}{
		{"transactions_sent_total", sum(final, "klayslave_transactions_sent_total", lbl...), sendReqs - sendFails},
		{"send_errors_total", sum(final, "klayslave_send_errors_total", lbl...), sendFails},
		{"send_latency_seconds count", sum(final, "klayslave_send_latency_seconds", lbl...), sendReqs - sendFails},
		{"transactions_included_total{status=success}", sum(final, "klayslave_transactions_included_total", append(lbl, "status", "success")...), iterReqs - iterFails},
		{"unconfirmed", sum(final, "klayslave_transactions_not_included_total", append(lbl, "reason", "unconfirmed")...), unconfirmed},
		{"iterations_total{result=success}", sum(final, "klayslave_iterations_total", "result", "success"), aggReqs - aggFails},
		{"iterations_total{result=failure}", sum(final, "klayslave_iterations_total", "result", "failure"), aggFails},
		{"dropped_iterations_total", sum(final, "klayslave_dropped_iterations_total"), dropped},
		// Every iteration is a verdict of a block, a miss, or a send error.
		{"included + not included + send errors", sum(final, "klayslave_transactions_included_total", lbl...) +
			sum(final, "klayslave_transactions_not_included_total", lbl...) - unconfirmed +
			sum(final, "klayslave_send_errors_total", lbl...), iterReqs},
		{"inclusion_latency_seconds count", sum(final, "klayslave_inclusion_latency_seconds", lbl...), sum(final, "klayslave_transactions_included_total", lbl...)},
	} {
		if e.got != e.want {
			t.Errorf("%s = %v, want %v (the summary's)", e.what, e.got, e.want)
		}
	}
	if ours := sum(final, "klayslave_block_transactions_total", "chain", "main", "scope", "ours"); ours < iterReqs-iterFails {
		t.Errorf("blocks held %v of ours, fewer than the %v included", ours, iterReqs-iterFails)
	}
	// Not a terminal: funding and sweep progress are log lines, not a bar.
	if strings.ContainsAny(stderr.String(), "\r\x1b") {
		t.Errorf("a progress bar's frames in a log that is not a terminal:\n%q", stderr.String())
	}
	t.Logf("%v iterations, %v failed; %v sent; %v blocks", iterReqs, iterFails, sendReqs-sendFails, sum(final, "klayslave_blocks_total"))
}
