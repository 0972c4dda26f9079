package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Two workers join a real Locust 2.12.1 master, which splits 20 users 10/10.
// The master's CSV counts must equal, exactly, what the workers recorded,
// and the sink's injected failures must appear in its failures CSV.
func TestTwoWorkersRealMasterExactCounts(t *testing.T) {
	requireLocust(t)
	dir := t.TempDir()
	// The sink first: it holds its port, so freePort cannot hand out the
	// same one (a port freePort has just closed is the kernel's next pick).
	s := newSink(t, 10)
	port := freePort(t)
	csv := filepath.Join(dir, "run")
	master := startMaster(t, dir, port, csv, "-u", "20", "-r", "10", "-t", "20s", "--expect-workers", "2")

	var workers []*proc
	for i := 0; i < 2; i++ {
		workers = append(workers, start(t, binary, "-tc=rpcPing", "-max-rps", "100",
			"-mcEndpoint", s.URL, "-master-host", "127.0.0.1", "-master-port", strconv.Itoa(port)))
	}
	if code := master.wait(t, 60*time.Second); code != 0 {
		t.Logf("master exit code %d (1 means the run had failures, as injected)", code)
	}
	var reqs, fails int64
	for i, w := range workers {
		w.wait(t, 15*time.Second)
		r, f := sent(t, w)
		t.Logf("worker %d sent %d requests, %d failed", i, r, f)
		reqs += r
		fails += f
		w.waitFor(t, `spawned users.* total=10\b`, time.Second)
	}
	master.waitFor(t, `All users spawned: .*\(20 total users\)`, time.Second)

	agg := csvRow(t, csv+"_stats.csv", "Name", "Aggregated")
	if got := atoi(t, agg["Request Count"]); got != reqs {
		t.Errorf("master counted %d requests, workers sent %d", got, reqs)
	}
	if got := atoi(t, agg["Failure Count"]); got != fails {
		t.Errorf("master counted %d failures, workers recorded %d", got, fails)
	}
	if reqs < 1000 || fails == 0 {
		t.Errorf("too little load to prove anything: %d requests, %d failures", reqs, fails)
	}
	row := csvRow(t, csv+"_failures.csv", "Name", "rpcPing")
	if !strings.Contains(row["Error"], "HTTP 500") || atoi(t, row["Occurrences"]) != fails {
		t.Errorf("failures CSV row = %v, want HTTP 500 × %d", row, fails)
	}
}

// The master is killed mid-run and a new one starts on the same port: the
// worker registers with it within 5 s and the new run's counts are exact.
func TestMasterRestart(t *testing.T) {
	requireLocust(t)
	dir := t.TempDir()
	s := newSink(t, 0) // before freePort, as above
	port := freePort(t)
	first := startMaster(t, dir, port, filepath.Join(dir, "first"), "-u", "4", "-r", "4", "-t", "60s", "--expect-workers", "1")
	w := start(t, binary, "-tc=rpcPing", "-max-rps", "50", "-mcEndpoint", s.URL, "-master-port", strconv.Itoa(port))
	first.waitFor(t, `All users spawned`, 20*time.Second)
	time.Sleep(2 * time.Second)
	_ = first.cmd.Process.Kill()
	first.wait(t, 5*time.Second)

	csv := filepath.Join(dir, "second")
	restarted := time.Now()
	second := startMaster(t, dir, port, csv, "-u", "4", "-r", "4", "-t", "8s", "--expect-workers", "1")
	second.waitFor(t, `reported as ready`, 15*time.Second)
	t.Logf("worker re-registered %.1f s after the new master started", time.Since(restarted).Seconds())
	// The master itself takes ~1-2 s to start; the worker must follow within 5 s of that.
	if d := time.Since(restarted); d > 8*time.Second {
		t.Errorf("worker took %v to register with the new master", d)
	}
	second.wait(t, 40*time.Second)
	w.wait(t, 15*time.Second)
	reqs, _ := sent(t, w)
	agg := csvRow(t, csv+"_stats.csv", "Name", "Aggregated")
	if got := atoi(t, agg["Request Count"]); got != reqs || reqs == 0 {
		t.Errorf("new master counted %d requests, the worker sent %d in that run", got, reqs)
	}
}

// With no master listening the worker retries, saying so, and does not give
// up before its retry limit.
func TestMissingMasterRetries(t *testing.T) {
	port := freePort(t)
	w := start(t, binary, "-tc=noop", "-master-port", strconv.Itoa(port))
	w.waitFor(t, `127\.0\.0\.1:`+strconv.Itoa(port)+`.*attempt 2/`, 15*time.Second)
	select {
	case <-w.done:
		t.Fatalf("worker exited before its retry limit:\n%s", w.Output())
	default:
	}
}
