package locust

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klayslave/klayslave/stats"
)

// until returns every message (heartbeats and stats included) up to and
// including the first of type typ.
func (m *fakeMaster2) until(typ string, timeout time.Duration) []fakeMsg {
	m.t.Helper()
	deadline := time.After(timeout)
	var got []fakeMsg
	for {
		select {
		case msg, ok := <-m.in:
			if !ok {
				m.t.Fatal("router closed")
			}
			got = append(got, msg)
			if msg.body[0] == typ {
				return got
			}
		case <-deadline:
			m.t.Fatalf("timed out after %v waiting for %s; got %v", timeout, typ, types(got))
			return nil
		}
	}
}

func types(msgs []fakeMsg) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprint(m.body[0]))
	}
	return out
}

// tally sums what the master was told: stats_total of every stats message.
type tally struct{ requests, failures int64 }

func (t *tally) add(msgs []fakeMsg) {
	for _, m := range msgs {
		if m.body[0] == "stats" {
			tot := m.body[1].(map[any]any)["stats_total"].(map[any]any)
			t.requests += toInt(tot["num_requests"])
			t.failures += toInt(tot["num_failures"])
		}
	}
}

// checkTally asserts the master got exactly what the worker recorded.
func checkTally(t *testing.T, got tally, col *stats.Collector) {
	t.Helper()
	_, total := col.Summary()
	if got.requests != total.Requests || got.failures != total.Failures {
		t.Errorf("master was told %d requests, %d failures; the worker recorded %d, %d",
			got.requests, got.failures, total.Requests, total.Failures)
	}
}

// startSlowWorker runs a 2.x worker against m, acks it and spawns n users
// of class A; it returns the worker's identity.
func startSlowWorker(t *testing.T, ctx context.Context, m *fakeMaster2, cfg Config, seen *tally) (id string, errc <-chan error) {
	t.Helper()
	logs := &syncBuffer{}
	cfg.MasterPort, cfg.Log = m.port, testLogger(t, logs)
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	})
	errc = runWorker(ctx, cfg)
	id = m.expect("client_ready").identity
	m.send(id, "ack", map[string]any{"index": 0})
	m.send(id, "spawn", map[string]any{"timestamp": 1.0, "user_classes_count": map[string]any{"A": 3}})
	seen.add(m.until("spawning_complete", 5*time.Second))
	return id, errc
}

// The master's stop lets calls in flight run for StopTimeout while the
// worker keeps heartbeating ("stopping"); then come the final stats (with
// the calls cancelled at the deadline), client_stopped and client_ready.
// A spawn sent during the stop is not applied to the new registration.
func TestStopKeepsHeartbeatingAndLosesNothing(t *testing.T) {
	t.Parallel()
	m := newFakeMaster2(t)
	col := stats.NewCollector(nil)
	users := newSlowUsers(col, time.Minute) // every call outlives the grace
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var told tally
	const grace = 3 * time.Second
	id, errc := startSlowWorker(t, ctx, m, Config{Users: users, Stats: col, StopTimeout: grace}, &told)
	feed(col, 10, 2)

	start := time.Now()
	m.send(id, "stop", nil)
	m.send(id, "spawn", map[string]any{"timestamp": 2.0, "user_classes_count": map[string]any{"A": 5}})
	msgs := m.until("client_stopped", grace+5*time.Second)
	took := msgs[len(msgs)-1].at.Sub(start)
	if took < grace-50*time.Millisecond || took > grace+time.Second {
		t.Errorf("client_stopped %v after stop, want just after the %v grace", took, grace)
	}
	told.add(msgs)

	// Heartbeats went on, saying "stopping", and never paused for long.
	last, stopping := time.Time{}, 0
	for _, msg := range msgs {
		if msg.body[0] != "heartbeat" {
			continue
		}
		if state := msg.body[1].(map[any]any)["state"]; state == "stopping" {
			stopping++
		}
		if !last.IsZero() && msg.at.Sub(last) > 1800*time.Millisecond {
			t.Errorf("no heartbeat for %v (the master marks a worker missing after ~4 s)", msg.at.Sub(last))
		}
		last = msg.at
	}
	if stopping < 2 || start.Add(grace).Sub(last) > 1500*time.Millisecond {
		t.Errorf("%d heartbeats said stopping, the last %v after stop; want one a second throughout", stopping, last.Sub(start))
	}
	// The stats sent during the stop, the last right before
	// client_stopped, held the 3 cancelled calls (a periodic report may
	// carry some of them).
	var failed int64
	for _, msg := range msgs {
		if msg.body[0] == "stats" {
			failed += toInt(msg.body[1].(map[any]any)["stats_total"].(map[any]any)["num_failures"])
		}
	}
	if i := lastIndex(msgs, "stats"); i != len(msgs)-2 || failed < 3 {
		t.Errorf("want stats right before client_stopped and the 3 cancelled calls reported (got %d): %v", failed, types(msgs))
	}
	checkTally(t, told, col)
	if d := <-users.stopped; d < grace-50*time.Millisecond || d > grace+500*time.Millisecond {
		t.Errorf("Users.Stop took %v, want its %v ctx", d, grace)
	}

	msgs = m.until("client_ready", 5*time.Second)
	told.add(msgs)
	if users.UserCount() != 0 {
		t.Errorf("users = %v after stop: the spawn sent during the stop was applied", users.Counts())
	}
	m.send(id, "ack", map[string]any{"index": 0})
	cancel()
	told.add(m.until("quit", 5*time.Second))
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkTally(t, told, col)
}

func lastIndex(msgs []fakeMsg, typ string) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].body[0] == typ {
			return i
		}
	}
	return -1
}

// On quit (or cancellation) the final stats and quit reach the master
// within its 0.5 s window, whatever the users do, and they hold everything
// recorded, the calls cancelled by the stop included.
func TestQuitWithinHalfSecond(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// end ends the run; it returns when the quit clock starts.
		end   func(t *testing.T, m *fakeMaster2, id string, cancel context.CancelFunc, told *tally) time.Time
		work  time.Duration // of each call; default 1.5 s
		stuck bool
	}{
		{name: "quit", end: func(t *testing.T, m *fakeMaster2, id string, _ context.CancelFunc, _ *tally) time.Time {
			start := time.Now()
			m.send(id, "quit", nil)
			return start
		}},
		{name: "cancel", end: func(_ *testing.T, _ *fakeMaster2, _ string, cancel context.CancelFunc, _ *tally) time.Time {
			start := time.Now()
			cancel()
			return start
		}},
		{name: "quit during a long stop", work: time.Minute, end: func(t *testing.T, m *fakeMaster2, id string, _ context.CancelFunc, told *tally) time.Time {
			m.send(id, "stop", nil)
			for { // until the worker says it is stopping
				msgs := m.until("heartbeat", 3*time.Second)
				told.add(msgs)
				if msgs[len(msgs)-1].body[1].(map[any]any)["state"] == "stopping" {
					break
				}
			}
			start := time.Now()
			m.send(id, "quit", nil)
			return start
		}},
		{name: "users that never stop", stuck: true, end: func(t *testing.T, m *fakeMaster2, id string, _ context.CancelFunc, _ *tally) time.Time {
			start := time.Now()
			m.send(id, "quit", nil)
			return start
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := newFakeMaster2(t)
			col := stats.NewCollector(nil)
			work := cmp.Or(c.work, 1500*time.Millisecond)
			var users Users = newSlowUsers(col, work)
			if c.stuck {
				release := make(chan struct{})
				defer close(release)
				users = stuckUsers{newFakeUsers(), release}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var told tally
			id, errc := startSlowWorker(t, ctx, m, Config{Users: users, Stats: col, StopTimeout: 10 * time.Second}, &told)
			feed(col, 10, 2)

			start := c.end(t, m, id, cancel, &told)
			msgs := m.until("quit", 5*time.Second)
			told.add(msgs)
			if took := msgs[len(msgs)-1].at.Sub(start); took >= 500*time.Millisecond {
				t.Errorf("quit arrived %v after the end, want < 0.5 s", took)
			} else {
				t.Logf("final stats and quit %v after the end", took.Round(time.Millisecond))
			}
			if i := lastIndex(msgs, "stats"); i < 0 || i != len(msgs)-2 {
				t.Errorf("want the final stats right before quit: %v", types(msgs))
			}
			// A quitting worker never says "stopping": a 2.12.1 master
			// stops counting it, and may end the run before its stats.
			if c.name != "quit during a long stop" {
				for _, msg := range msgs {
					if fmt.Sprint(msg.body[0]) == "heartbeat" && msg.body[1].(map[any]any)["state"] == "stopping" {
						t.Errorf("a heartbeat said stopping during a quit: %v", types(msgs))
					}
				}
			}
			select {
			case err := <-errc:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Second):
				t.Fatal("RunWorker did not return after quit")
			}
			checkTally(t, told, col)
			if _, total := col.Summary(); !c.stuck && total.Failures < 2+3 {
				t.Errorf("recorded %+v: want the 3 calls in flight cancelled as failures", total)
			}
		})
	}
}

// A flood of exceptions reaches the master at ~10 a second, each with
// msg and traceback as valid UTF-8; the rest are counted in the log.
func TestExceptionsRateLimited(t *testing.T) {
	t.Parallel()
	m := newFakeMaster2(t)
	col := stats.NewCollector(nil)
	exc := make(chan Exception, 1000)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := runWorker(ctx, Config{MasterPort: m.port, Users: newFakeUsers(), Stats: col, Log: testLogger(t, logs), Exceptions: exc})
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()
	id := m.expect("client_ready").identity
	m.send(id, "ack", map[string]any{"index": 0})
	const n = 1000
	for i := range n {
		exc <- Exception{Msg: "panic: boom " + strconv.Itoa(i), Traceback: "goroutine 7 [running]:\nmain.case(\xff)\n"}
	}

	dropped := regexp.MustCompile(`did not send (\d+) user exceptions`)
	var got []map[any]any
	waitFor(t, 10*time.Second, func() bool {
		for {
			select {
			case msg := <-m.in:
				if msg.body[0] == "exception" {
					got = append(got, msg.body[1].(map[any]any))
				}
				continue
			default:
			}
			break
		}
		skipped := 0
		for _, s := range dropped.FindAllStringSubmatch(logs.String(), -1) {
			k, _ := strconv.Atoi(s[1])
			skipped += k
		}
		return len(got)+skipped == n
	}, "every exception sent or counted as dropped")
	if len(got) < exceptionsPerSecond || len(got) > 3*exceptionsPerSecond {
		t.Errorf("master got %d exception messages, want about %d (one second's worth)", len(got), exceptionsPerSecond)
	}
	first := got[0]
	if len(first) != 2 || first["msg"] != "panic: boom 0" {
		t.Errorf("first exception = %v", first)
	}
	if tb, _ := first["traceback"].(string); !utf8.ValidString(tb) || !strings.Contains(tb, "main.case(\uFFFD)") {
		t.Errorf("traceback = %q, want valid UTF-8", tb)
	}
	close(exc) // a closed channel is not an exception
	cancel()
	m.until("quit", 5*time.Second)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"a\xffb", 5, "a\uFFFDb"},
		{"héllo", 2, "h…"}, // é is 2 bytes: not cut in half
		{"héllo", 3, "hé…"},
	} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// until returns every message up to and including the first of type typ,
// with when the test received it.
func (m *fakeMaster09) until(typ string, timeout time.Duration) (msgs [][]any, at time.Time) {
	m.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case msg, ok := <-m.in:
			if !ok {
				m.t.Fatalf("connection closed waiting for %s", typ)
			}
			msgs = append(msgs, msg)
			if msg[0] == typ {
				return msgs, time.Now()
			}
		case <-deadline:
			m.t.Fatalf("timed out waiting for %s", typ)
		}
	}
}

// add09 sums 0.9 stats_total: num_requests there excludes failures.
func (t *tally) add09(msgs [][]any) {
	for _, m := range msgs {
		if m[0] == "stats" {
			tot := m[1].(map[any]any)["stats_total"].(map[any]any)
			t.requests += toInt(tot["num_requests"]) + toInt(tot["num_failures"])
			t.failures += toInt(tot["num_failures"])
		}
	}
}

// 0.9: stop lets calls in flight finish within StopTimeout, then the final
// stats, client_stopped and client_ready; a hatch sent during a stop starts
// the next test after it; quit comes with final stats within 0.5 s.
// Failures' times stay out of the times sent; exceptions are forwarded.
func TestLegacyStopQuitExceptions(t *testing.T) {
	t.Parallel()
	m := newFakeMaster09(t, 0)
	col := stats.NewCollector(nil)
	users := newSlowUsers(col, 1500*time.Millisecond)
	exc := make(chan Exception, 1)
	logs := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- RunLegacyWorker(ctx, Config{MasterPort: m.port, Users: users, Stats: col, Log: testLogger(t, logs),
			LegacyClass: "Legacy", StopTimeout: 5 * time.Second, Exceptions: exc})
	}()
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("worker log:\n%s", logs)
		}
	}()
	m.until("client_ready", 5*time.Second)
	m.send("hatch", map[string]any{"hatch_rate": 0.0, "num_clients": 3})
	var told tally
	msgs, _ := m.until("hatch_complete", 5*time.Second)
	told.add09(msgs)
	col.Failure("POST", "/slow", 9*time.Second, errors.New("timeout"))
	exc <- Exception{Msg: "panic: boom", Traceback: "goroutine 1"}
	msgs, _ = m.until("exception", 5*time.Second)
	told.add09(msgs)
	if ex := msgs[len(msgs)-1][1].(map[any]any); ex["msg"] != "panic: boom" || ex["traceback"] != "goroutine 1" {
		t.Errorf("exception = %v", ex)
	}

	start := time.Now()
	m.send("stop", nil)
	msgs, stopped := m.until("client_stopped", 10*time.Second)
	told.add09(msgs)
	if took := stopped.Sub(start); took > 2500*time.Millisecond {
		t.Errorf("client_stopped %v after stop; the calls in flight needed at most 1.5 s", took)
	}
	if i := len(msgs) - 2; i < 0 || msgs[i][0] != "stats" {
		t.Errorf("want the final stats right before client_stopped: %v", msgs)
	}
	for _, msg := range msgs {
		if msg[0] == "stats" {
			if tot := msg[1].(map[any]any)["stats_total"].(map[any]any); tot["max_response_time"].(float64) >= 9000 {
				t.Errorf("a failure's 9 s response time reached the 0.9 master: %v", tot)
			}
		}
	}
	checkTally(t, told, col)
	if _, total := col.Summary(); total.Requests < 1+3 || total.Failures != 1 {
		t.Errorf("recorded %+v: want the 3 calls in flight finished as successes, and the one failure", total)
	}

	m.until("client_ready", 5*time.Second)

	// A hatch sent during a stop starts the next test once the stop is over.
	m.send("hatch", map[string]any{"hatch_rate": 0.0, "num_clients": 3})
	m.until("hatch_complete", 5*time.Second)
	m.send("stop", nil)
	m.send("hatch", map[string]any{"hatch_rate": 0.0, "num_clients": 2})
	msgs, _ = m.until("client_stopped", 10*time.Second)
	for _, msg := range msgs {
		if msg[0] == "hatching" {
			t.Errorf("hatching before the stop was over: %v", msgs)
		}
	}
	m.until("client_ready", 5*time.Second)
	m.until("hatching", 5*time.Second)
	m.until("hatch_complete", 5*time.Second) // the new test: its stats start here (rate 0: no report in between)
	told = tally{}
	if users.UserCount() != 2 {
		t.Errorf("users = %v after the hatch sent during the stop", users.Counts())
	}
	start = time.Now()
	m.send("quit", nil)
	msgs, quit := m.until("quit", 5*time.Second)
	told.add09(msgs)
	if took := quit.Sub(start); took >= 500*time.Millisecond {
		t.Errorf("quit arrived %v after quit, want < 0.5 s", took)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkTally(t, told, col)
	if _, total := col.Summary(); total.Failures != 2 {
		t.Errorf("recorded %+v: want the 2 calls in flight cancelled as failures", total)
	}
}
