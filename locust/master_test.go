package locust

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// These tests run the real Locust master (Debian python3-locust 2.12.1).

const locustfile = `from locust import User, task, constant


class Dummy(User):
    wait_time = constant(1)

    @task
    def t(self):
        pass
`

// needLocust skips when locust is not installed, unless
// KLAYSLAVE_REQUIRE_LOCUST is set (then it fails).
func needLocust(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("locust"); err != nil {
		if os.Getenv("KLAYSLAVE_REQUIRE_LOCUST") != "" {
			t.Fatalf("locust not on PATH and KLAYSLAVE_REQUIRE_LOCUST is set: %v", err)
		}
		t.Skip("locust not on PATH (install python3-locust); set KLAYSLAVE_REQUIRE_LOCUST=1 to make this a failure")
	}
}

type master struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	done chan error
}

// startMaster runs `locust --master --headless` on 127.0.0.1:port with
// users/rate/runTime and, if csvPrefix is set, --csv.
func startMaster(t *testing.T, dir string, port, users int, runTime, csvPrefix string) *master {
	t.Helper()
	lf := filepath.Join(dir, "locustfile.py")
	if err := os.WriteFile(lf, []byte(locustfile), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-f", lf, "--master", "--headless",
		"-u", strconv.Itoa(users), "-r", strconv.Itoa(users), "-t", runTime,
		"--expect-workers", "1", "--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--only-summary"}
	if csvPrefix != "" {
		args = append(args, "--csv", csvPrefix)
	}
	m := &master{cmd: exec.Command("locust", args...), log: &syncBuffer{}, done: make(chan error, 1)}
	m.cmd.Dir = dir
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(func() {
		m.cmd.Process.Kill()
		<-m.done
		if t.Failed() || testing.Verbose() {
			t.Logf("master log:\n%s", m.log)
		}
	})
	return m
}

func (m *master) wait(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-m.done:
		m.done <- nil // for Cleanup
	case <-time.After(timeout):
		t.Fatalf("master did not exit within %v", timeout)
	}
}

// runWorker starts RunWorker and returns a channel with its result.
func runWorker(ctx context.Context, cfg Config) <-chan error {
	errc := make(chan error, 1)
	go func() { errc <- RunWorker(ctx, cfg) }()
	return errc
}

// feed records n successes and m failures (error "boom") into col.
func feed(col *stats.Collector, n, m int) {
	for range n {
		col.Success("GET", "/ok", 5*time.Millisecond, 10)
	}
	for range m {
		col.Failure("POST", "/bad", 7*time.Millisecond, errors.New("boom"))
	}
}

// readCSV returns the rows of a Locust CSV as maps keyed by the header.
func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("%s: %v (%d records)", path, err, len(recs))
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(r) {
				row[h] = r[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// checkCSV asserts the master's CSVs hold exactly n+m requests, m failures
// and the failure row.
func checkCSV(t *testing.T, prefix string, n, m int) {
	t.Helper()
	var agg map[string]string
	for _, r := range readCSV(t, prefix+"_stats.csv") {
		if r["Name"] == "Aggregated" {
			agg = r
		}
	}
	if agg == nil {
		t.Fatalf("no Aggregated row in %s_stats.csv", prefix)
	}
	if got, want := agg["Request Count"], strconv.Itoa(n+m); got != want {
		t.Errorf("master Aggregated Request Count = %s, want %s", got, want)
	}
	if got, want := agg["Failure Count"], strconv.Itoa(m); got != want {
		t.Errorf("master Aggregated Failure Count = %s, want %s", got, want)
	}
	var found bool
	for _, r := range readCSV(t, prefix+"_failures.csv") {
		if r["Method"] == "POST" && r["Name"] == "/bad" && strings.Contains(r["Error"], "boom") {
			found = true
			if r["Occurrences"] != strconv.Itoa(m) {
				t.Errorf("failures CSV occurrences = %s, want %d", r["Occurrences"], m)
			}
		}
	}
	if !found {
		t.Errorf("failures CSV has no POST /bad boom row")
	}
}

func TestRealMaster(t *testing.T) {
	t.Parallel()
	needLocust(t)
	dir := t.TempDir()
	port := freePort(t)
	m := startMaster(t, dir, port, 4, "8s", filepath.Join(dir, "run"))

	users, col, logs := newFakeUsers(), stats.NewCollector(nil), &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := runWorker(ctx, Config{MasterPort: port, Users: users, Stats: col, Log: testLogger(t, logs)})

	users.waitUsers(t, 4, 15*time.Second)
	const n, f = 100, 7
	feed(col, n, f)

	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunWorker: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("worker did not return after the master's quit; log:\n%s", logs)
	}
	m.wait(t, 10*time.Second)
	if t.Failed() {
		return
	}
	checkCSV(t, filepath.Join(dir, "run"), n, f)
	if got := users.spawns(); len(got) == 0 || got[len(got)-1]["Dummy"] != 4 {
		t.Errorf("spawns = %v, want the last one Dummy:4", got)
	}
	if !strings.Contains(m.log.String(), `All users spawned: {"Dummy": 4} (4 total users)`) {
		t.Errorf("master did not report 4 users spawned")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("worker log:\n%s", logs)
	}
}

func TestMasterRestart(t *testing.T) {
	t.Parallel()
	needLocust(t)
	dir := t.TempDir()
	port := freePort(t)
	a := startMaster(t, dir, port, 2, "60s", "")

	users, col, logs := newFakeUsers(), stats.NewCollector(nil), &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	errc := runWorker(ctx, Config{MasterPort: port, Users: users, Stats: col, Log: testLogger(t, logs)})

	users.waitUsers(t, 2, 15*time.Second)
	feed(col, 50, 5) // master A's; must not reach B
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.wait(t, 5*time.Second)
	users.waitUsers(t, 0, 5*time.Second) // the worker noticed and stopped its users

	bDir := t.TempDir()
	b := startMaster(t, bDir, port, 4, "6s", filepath.Join(bDir, "run"))
	start := time.Now() // includes B's own start-up (Python imports, bind)
	waitFor(t, 5*time.Second, func() bool { return strings.Contains(b.log.String(), "reported as ready") },
		"master B to see the worker ready")
	t.Logf("worker registered with master B %v after B was started", time.Since(start).Round(time.Millisecond))

	users.waitUsers(t, 4, 10*time.Second)
	const n, f = 80, 3
	feed(col, n, f)
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunWorker: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("worker did not return after master B's quit; log:\n%s", logs)
	}
	b.wait(t, 10*time.Second)
	checkCSV(t, filepath.Join(bDir, "run"), n, f)
	if !strings.Contains(logs.String(), "lost the Locust master") {
		t.Errorf("worker log does not mention losing the master")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("worker log:\n%s", logs)
	}
}

func TestMissingMaster(t *testing.T) {
	port := freePort(t) // nothing listens here
	logs := &syncBuffer{}
	start := time.Now()
	err := RunWorker(context.Background(), Config{
		MasterPort: port, Users: newFakeUsers(), Stats: stats.NewCollector(nil),
		Log: testLogger(t, logs), ConnectTimeout: 200 * time.Millisecond, ConnectRetries: 3,
	})
	elapsed := time.Since(start)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err == nil || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line error naming %s", err, addr)
	}
	if elapsed < 550*time.Millisecond || elapsed > 1500*time.Millisecond {
		t.Errorf("gave up after %v, want ~0.6 s", elapsed)
	}
	for i := 1; i <= 3; i++ {
		want := fmt.Sprintf("no ack from Locust master at %s (attempt %d/3); is `locust --master` running?", addr, i)
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	t.Logf("error after %v: %v", elapsed.Round(time.Millisecond), err)
	if t.Failed() {
		t.Logf("log:\n%s", logs)
	}
}

// checkCSVTotals asserts the master's Aggregated row equals what the
// worker recorded (its collector's cumulative total).
func checkCSVTotals(t *testing.T, rows []map[string]string, col *stats.Collector) {
	t.Helper()
	_, total := col.Summary()
	for _, r := range rows {
		if r["Name"] != "Aggregated" {
			continue
		}
		if r["Request Count"] != strconv.FormatInt(total.Requests, 10) || r["Failure Count"] != strconv.FormatInt(total.Failures, 10) {
			t.Errorf("master's Aggregated row: %s requests, %s failures; the worker recorded %d, %d",
				r["Request Count"], r["Failure Count"], total.Requests, total.Failures)
		} else {
			t.Logf("master and worker agree: %d requests, %d failures", total.Requests, total.Failures)
		}
		return
	}
	t.Errorf("no Aggregated row in %v", rows)
}

// At -t the master sends quit and waits 0.5 s for the final stats: the
// calls in flight are cancelled within 300 ms, counted as failures, and
// reach the master's CSV.
func TestRealMasterQuitCountsCallsInFlight(t *testing.T) {
	t.Parallel()
	needLocust(t)
	dir := t.TempDir()
	port := freePort(t)
	prefix := filepath.Join(dir, "run")
	m := startMaster(t, dir, port, 4, "5s", prefix)

	col, logs := stats.NewCollector(nil), &syncBuffer{}
	users := newSlowUsers(col, 1500*time.Millisecond) // a call is always in flight
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := runWorker(ctx, Config{MasterPort: port, Users: users, Stats: col, Log: testLogger(t, logs)})
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunWorker: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("worker did not return after the master's quit")
	}
	m.wait(t, 10*time.Second)
	checkCSVTotals(t, readCSV(t, prefix+"_stats.csv"), col)
	if _, total := col.Summary(); total.Failures != 4 {
		t.Errorf("recorded %+v, want the 4 calls in flight at quit cancelled as failures", total)
	}
	var cancelled string
	for _, r := range readCSV(t, prefix+"_failures.csv") {
		if strings.Contains(r["Error"], "cancelled") { // the CSV has repr(error)
			cancelled = r["Occurrences"]
		}
	}
	if cancelled != "4" {
		t.Errorf("failures CSV: %q cancelled calls, want 4", cancelled)
	}
}

// startWebMaster runs a master with its web UI (not headless), which is
// how a user sends stop; it returns the web UI's base URL.
func startWebMaster(t *testing.T, dir string, port int) (*master, string) {
	t.Helper()
	lf := filepath.Join(dir, "locustfile.py")
	if err := os.WriteFile(lf, []byte(locustfile), 0o644); err != nil {
		t.Fatal(err)
	}
	web := freePort(t)
	m := &master{log: &syncBuffer{}, done: make(chan error, 1)}
	m.cmd = exec.Command("locust", "-f", lf, "--master", "--master-bind-host", "127.0.0.1",
		"--master-bind-port", strconv.Itoa(port), "--web-host", "127.0.0.1", "--web-port", strconv.Itoa(web))
	m.cmd.Dir = dir
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.done <- m.cmd.Wait() }()
	t.Cleanup(func() {
		m.cmd.Process.Kill()
		<-m.done
		if t.Failed() || testing.Verbose() {
			t.Logf("master log:\n%s", m.log)
		}
	})
	return m, fmt.Sprintf("http://127.0.0.1:%d", web)
}

// httpDo runs one bounded request and returns the body.
func httpDo(t *testing.T, method, url string, form url.Values, timeout time.Duration) string {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.PostForm(url, form)
	} else {
		resp, err = c.Get(url)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s %v: %s", method, url, resp.Status, err, b)
	}
	return string(b)
}

// The web UI's stop, with calls in flight for the whole 4 s grace: the
// worker keeps heartbeating (the master does not mark it missing), the
// master's numbers equal the worker's (the calls cancelled at the end of
// the grace included), exceptions reach the Exceptions tab, and the worker
// registers again.
func TestRealMasterStopKeepsWorkerAndCounts(t *testing.T) {
	t.Parallel()
	needLocust(t)
	dir := t.TempDir()
	port := freePort(t)
	m, web := startWebMaster(t, dir, port)

	col, logs := stats.NewCollector(nil), &syncBuffer{}
	users := newSlowUsers(col, 5*time.Second)
	exc := make(chan Exception, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const grace = 4 * time.Second
	errc := runWorker(ctx, Config{MasterPort: port, Users: users, Stats: col, Log: testLogger(t, logs),
		StopTimeout: grace, Exceptions: exc})
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()
	ready := func() int { return strings.Count(m.log.String(), "reported as ready") }
	waitFor(t, 20*time.Second, func() bool { return ready() >= 1 }, "the worker to register")
	httpDo(t, http.MethodPost, web+"/swarm", url.Values{"user_count": {"3"}, "spawn_rate": {"3"}}, 10*time.Second)
	waitFor(t, 10*time.Second, func() bool { return users.UserCount() == 3 }, "3 users")
	exc <- Exception{Msg: "panic: boom", Traceback: "goroutine 9 [running]:\nklayslave/tc.Boom()"}
	waitFor(t, 15*time.Second, func() bool { _, tot := col.Summary(); return tot.Requests >= 3 }, "the first calls to finish")

	// /stop returns once the worker reports no users, which it does as soon
	// as the stop begins; the stop itself ends with the final stats,
	// client_stopped and a new registration.
	httpDo(t, http.MethodGet, web+"/stop", nil, 30*time.Second)
	waitFor(t, grace+5*time.Second, func() bool { return ready() >= 2 }, "the worker to register again after stop")
	if took := <-users.stopped; took < grace-50*time.Millisecond {
		t.Errorf("Users.Stop took %v, want the whole %v grace", took, grace)
	} else {
		t.Logf("the stop took %v", took.Round(time.Millisecond))
	}
	if strings.Contains(m.log.String(), "missing") {
		t.Errorf("the master marked the worker missing during the stop")
	}
	csvBody := httpDo(t, http.MethodGet, web+"/stats/requests/csv", nil, 10*time.Second)
	path := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(path, []byte(csvBody), 0o644); err != nil {
		t.Fatal(err)
	}
	checkCSVTotals(t, readCSV(t, path), col)
	if _, total := col.Summary(); total.Failures != 3 {
		t.Errorf("recorded %+v, want the 3 calls in flight cancelled at the end of the grace", total)
	}
	if ex := httpDo(t, http.MethodGet, web+"/exceptions", nil, 10*time.Second); !strings.Contains(ex, "panic: boom") || !strings.Contains(ex, "tc.Boom") {
		t.Errorf("/exceptions = %s, want our exception", ex)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("RunWorker: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("worker did not return after cancellation")
	}
}
