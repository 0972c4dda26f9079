package locust

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// Budgets for Users.Stop. The loop never waits for Users.Stop: it runs on
// its own goroutine while the loop keeps heartbeating and reading the
// master, and the loop goes on when Stop returns or, at the latest, when
// the budget plus an overrun has passed (a Users that overruns is logged,
// not waited for).
const (
	defaultStopTimeout = 2 * time.Second
	// quitBudget is the Stop budget on quit and cancellation: a 2.12.1
	// master waits only 0.5 s after sending quit for the final stats
	// (runners.py MasterRunner.quit), which must follow Stop.
	quitBudget = 300 * time.Millisecond
	// quitOverrun leaves 100 ms of the master's 0.5 s for the final stats
	// and quit even if Users.Stop does not return.
	quitOverrun = 100 * time.Millisecond
	stopOverrun = time.Second
)

// stopReason is what a stop is for, and so what follows it.
type stopReason int

const (
	stopForMaster stopReason = iota // master's stop: final stats, client_stopped, register again
	stopForLoss                     // master lost: forget the stats, register again
	stopForQuit                     // quit or cancellation: final stats, quit, return
)

// stopRun is one Users.Stop running on its own goroutine.
type stopRun struct {
	reason  stopReason
	started time.Time
	cancel  context.CancelFunc // ends Users.Stop's ctx early (quit during a stop)
	done    chan struct{}      // closed when Users.Stop has returned
	hard    *time.Timer        // the loop stops waiting for done
	hardAt  time.Time
	hurried *time.Timer // the cancel scheduled by hurry, if any
}

func startStop(u Users, budget time.Duration, reason stopReason) *stopRun {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	s := &stopRun{reason: reason, started: time.Now(), cancel: cancel, done: make(chan struct{})}
	s.setHard(s.started.Add(budget + overrunFor(reason)))
	go func() {
		defer close(s.done)
		u.Stop(ctx)
	}()
	return s
}

func overrunFor(r stopReason) time.Duration {
	if r == stopForQuit {
		return quitOverrun
	}
	return stopOverrun
}

func (s *stopRun) setHard(at time.Time) {
	s.hardAt = at
	d := time.Until(at)
	if s.hard == nil {
		s.hard = time.NewTimer(d)
	} else {
		s.hard.Reset(d) // Go >= 1.23: no stale tick survives Reset
	}
}

// hurry turns the stop into a quit: whatever budget is left, Users.Stop's
// ctx ends within quitBudget, and the loop waits at most quitOverrun more.
func (s *stopRun) hurry() {
	s.reason = stopForQuit
	if at := time.Now().Add(quitBudget + quitOverrun); at.Before(s.hardAt) {
		s.hurried = time.AfterFunc(quitBudget, s.cancel)
		s.setHard(at)
	}
}

// end releases the timers and the context; Users.Stop, if still running,
// sees its ctx end.
func (s *stopRun) end() {
	s.cancel()
	s.hard.Stop()
	if s.hurried != nil {
		s.hurried.Stop()
	}
}

// finish ends the stop and logs how it went: both protocols' workers call
// it once Users.Stop has returned or (overran) its time is up.
func (s *stopRun) finish(log *slog.Logger, overran bool) {
	s.end()
	took := time.Since(s.started).Round(time.Millisecond)
	if overran {
		log.Error("users did not stop in time; going on without them", "waited", took)
	} else {
		log.Info("users stopped", "took", took)
	}
}

// doneC and hardC are nil (never ready) when no stop runs.
func (s *stopRun) doneC() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.done
}

func (s *stopRun) hardC() <-chan time.Time {
	if s == nil {
		return nil
	}
	return s.hard.C
}

// maxDeferred bounds the messages kept while stopping; a master sends at
// most a few spawns then, so more is a flood to drop.
const maxDeferred = 64

// deferMsg keeps a spawn/hatch received while stopping, to apply once the
// stop is over (in order, as the Python worker's single greenlet would).
func (s *session) deferMsg(m message) {
	if len(s.deferred) >= maxDeferred {
		s.log.Warn("dropping a message received while stopping: too many queued", "type", m.Type)
		return
	}
	s.log.Info("master sent "+m.Type+" while stopping users; applying it after the stop", "type", m.Type)
	s.deferred = append(s.deferred, m)
}

// takeDeferred returns and clears the queued messages.
func (s *session) takeDeferred() []message {
	d := s.deferred
	s.deferred = nil
	return d
}

// Exception is one error a user hit outside the request statistics (a
// panicking test case, say), reported to the master's Exceptions tab as
// Locust's `exception` message. Traceback is the stack, or "" if none.
type Exception struct{ Msg, Traceback string }

// exceptionsPerSecond bounds what reaches the master: it groups exceptions
// by traceback anyway, and a case panicking on every iteration (thousands a
// second) would only flood its single receive loop.
const exceptionsPerSecond = 10

// maxExceptionText bounds msg and traceback each; Python's are a few kB.
const maxExceptionText = 16 << 10

// exceptionGate lets at most exceptionsPerSecond through per one-second
// window and counts the rest, to be logged when the window closes.
type exceptionGate struct {
	window  time.Time
	sent    int
	dropped int
}

func (g *exceptionGate) allow(now time.Time, log *slog.Logger) bool {
	g.roll(now, log)
	if g.sent >= exceptionsPerSecond {
		g.dropped++
		return false
	}
	g.sent++
	return true
}

// roll starts a new window once a second has passed, logging what the old
// one dropped.
func (g *exceptionGate) roll(now time.Time, log *slog.Logger) {
	if now.Sub(g.window) < time.Second {
		return
	}
	if g.dropped > 0 {
		log.Warn(fmt.Sprintf("did not send %d user exceptions to the master (at most %d a second)", g.dropped, exceptionsPerSecond))
	}
	*g = exceptionGate{window: now}
}

// sendException reports ex to the master, rate-limited.
func (s *session) sendException(ex Exception) {
	if !s.exGate.allow(time.Now(), s.log) {
		return
	}
	s.log.Debug("reporting a user exception to the master", "msg", ex.Msg)
	s.send("exception", exceptionData(ex))
}

// exceptionData writes {"msg": str, "traceback": str}: both keys always
// (a 2.12.1 master's receive loop dies on a missing one), valid UTF-8
// (python-msgpack raw=False rejects anything else) and bounded.
func exceptionData(ex Exception) func(*msgpack.Encoder) error {
	return func(e *msgpack.Encoder) error {
		w := &encoder{e: e}
		w.mapLen(2)
		w.key("msg")
		w.str(clip(ex.Msg, maxExceptionText))
		w.key("traceback")
		w.str(clip(ex.Traceback, maxExceptionText))
		return w.err
	}
}

// clip returns s as valid UTF-8, cut to n bytes (plus an ellipsis).
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
