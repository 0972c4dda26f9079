package locust

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Locust 0.9 slave states (0.9 runners.py). hatching is the old name of
// spawning; there is no ack and no heartbeat, so there is no registration
// state: once both sockets are connected we are the master's.
//
//	ready     connected and idle: no users. Entered at start, after stop,
//	          after losing the master.
//	hatching  users are being started, paced at hatch_rate users/s.
//	running   all users of the last hatch run.
//	stopping  Users.Stop is running (after stop, quit, cancellation or
//	          losing the master); hatches received meanwhile wait for its
//	          end. Internal: 0.9 has no heartbeat to report it.
const stateHatching = "hatching"

// legacyWorker is the Locust 0.9 state machine. All fields are owned by the
// loop goroutine (run).
type legacyWorker struct {
	cfg  Config
	addr string // "host:port/port+1", for logs
	session

	state  string
	testOn bool // a test ran since the last final stats: the stop flushes them

	// connecting: attempts to dial both sockets, one per ConnectTimeout.
	attempt    int
	attemptEnd time.Time
	dialErr    error

	hatch     hatchPlan
	hatchWake *time.Timer // fires when the next user is due while hatching

	stop *stopRun // the Users.Stop in progress; nil if none
}

// hatchPlan paces a hatch: user base+i+1 starts at start + i/rate.
type hatchPlan struct {
	target, base, spawned int
	rate                  float64
	start                 time.Time
}

// RunLegacyWorker runs a Locust 0.9 slave (PUSH to MasterPort, PULL from
// MasterPort+1) until the master sends quit or ctx is cancelled (both: stop
// users within 300 ms, final stats, quit, return nil). It returns an error
// if it cannot connect within ConnectRetries attempts of ConnectTimeout.
//
// If cfg.Stats has SetUntimedFailures (*stats.Collector does), it is turned
// on: a 0.9 master averages response times over successes only.
func RunLegacyWorker(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if u, ok := cfg.Stats.(interface{ SetUntimedFailures(bool) }); ok {
		u.SetUntimedFailures(true)
	}
	id, err := newClientID()
	if err != nil {
		return err
	}
	return newLegacyWorker(cfg, id).run(ctx)
}

func newLegacyWorker(cfg Config, id string) *legacyWorker {
	addr := cfg.MasterHost + ":" + strconv.Itoa(cfg.MasterPort) + "/" + strconv.Itoa(cfg.MasterPort+1)
	w := &legacyWorker{cfg: cfg, addr: addr, state: stateReady,
		session: session{id: id, log: cfg.Log.With("master", addr, "protocol", "0.9")}}
	w.hatchWake = time.NewTimer(time.Hour)
	w.hatchWake.Stop()
	return w
}

func (w *legacyWorker) run(ctx context.Context) error {
	defer w.disconnect()
	defer w.hatchWake.Stop()
	w.log.Info("connecting to Locust 0.9 master", "id", w.id)
	w.startConnecting(time.Now())
	w.connect()

	tick := time.NewTicker(w.cfg.tickInterval())
	defer tick.Stop()
	report := time.NewTicker(reportInterval)
	defer report.Stop()
	defer func() {
		if w.stop != nil {
			w.stop.end()
		}
	}()

	cancelled, exceptions := ctx.Done(), w.cfg.Exceptions
	for {
		select {
		case <-cancelled:
			cancelled = nil // handled once; the quit that follows ends the loop
			w.log.Info("stopping: context cancelled")
			w.beginQuit()
		case ev := <-w.inbox():
			if ev.err != nil {
				w.lost(fmt.Errorf("receive: %w", ev.err))
				break
			}
			w.handle(ev.payload)
		case <-w.stop.doneC():
			if w.endStop(false) {
				return nil
			}
		case <-w.stop.hardC():
			if w.endStop(true) {
				return nil
			}
		case ex, ok := <-exceptions:
			if !ok {
				exceptions = nil
				break
			}
			if w.link != nil {
				w.sendException(ex)
			}
		case now := <-tick.C:
			w.exGate.roll(now, w.log)
			if err := w.housekeep(now); err != nil {
				return err
			}
		case now := <-w.hatchWake.C:
			w.hatchStep(now)
		case <-report.C:
			if w.state == stateHatching || w.state == stateRunning || w.testOn {
				w.report()
			}
		}
		if err := w.takeSendErr(); err != nil {
			w.lost(err)
		}
	}
}

func (w *legacyWorker) handle(payload []byte) {
	m, err := decodeMessage(payload)
	if err != nil {
		w.log.Warn("ignoring malformed message from master", "err", err, "bytes", len(payload))
		return
	}
	w.dispatch(m)
}

func (w *legacyWorker) dispatch(m message) {
	switch m.Type {
	case "hatch":
		if w.stop != nil {
			w.deferMsg(m)
			return
		}
		w.onHatch(m.Data)
	case "stop":
		if w.stop != nil {
			w.log.Info("master sent stop while already stopping users")
			return
		}
		w.log.Info("master sent stop; stopping users", "timeout", w.cfg.StopTimeout)
		w.beginStop(w.cfg.StopTimeout, stopForMaster)
	case "quit":
		w.log.Info("master sent quit")
		w.beginQuit()
	default:
		w.log.Warn("ignoring unknown message type from master", "type", m.Type)
	}
}

// onHatch starts pacing towards this slave's share of users (0.9
// start_hatching): fewer users are stopped at once, more are added at
// hatch_rate per second from the current count.
func (w *legacyWorker) onHatch(data any) {
	h, err := parseHatch(data)
	if err != nil {
		w.log.Warn("ignoring malformed hatch", "err", err)
		return
	}
	w.send("hatching", nil)
	if w.state != stateHatching && w.state != stateRunning {
		w.cfg.Stats.Reset() // a new test starts
	}
	w.state = stateHatching
	w.hatch = hatchPlan{target: h.Users, base: w.cfg.Users.UserCount(), rate: h.Rate, start: time.Now()}
	w.hatch.spawned = w.hatch.base
	w.log.Info("hatching", "users", h.Users, "rate", h.Rate)
	w.hatchStep(w.hatch.start)
}

// hatchStep starts the users due by now and schedules the next one, or
// completes the hatch.
func (w *legacyWorker) hatchStep(now time.Time) {
	if w.state != stateHatching {
		return
	}
	h := &w.hatch
	elapsed := now.Sub(h.start).Seconds()
	due := h.target
	if h.rate > 0 && h.target > h.base {
		// In float, so that absurd rates cannot overflow an int.
		if f := float64(h.base) + math.Floor(elapsed*h.rate) + 1; f < float64(h.target) {
			due = int(f)
		}
	}
	if due != h.spawned {
		h.spawned = due
		w.cfg.Users.Spawn(map[string]int{w.cfg.LegacyClass: due})
	}
	if h.spawned == h.target {
		w.state = stateRunning
		w.log.Info("hatch complete", "users", h.target)
		w.send("hatch_complete", hatchCompleteData(h.target))
		return
	}
	wait := float64(h.spawned-h.base)/h.rate - elapsed // seconds until the next user is due
	w.hatchWake.Reset(time.Duration(min(max(wait, 0.001), 3600) * float64(time.Second)))
}

// beginQuit ends the run (quit or cancellation): stop users within
// quitBudget (cutting short a stop in progress); endStop then sends the
// final stats and quit.
func (w *legacyWorker) beginQuit() {
	if w.stop != nil {
		w.stop.hurry()
		return
	}
	w.beginStop(quitBudget, stopForQuit)
}

func (w *legacyWorker) beginStop(budget time.Duration, reason stopReason) {
	w.hatchWake.Stop()
	w.testOn = w.testOn || w.state == stateHatching || w.state == stateRunning
	w.state = stateStopping
	w.stop = startStop(w.cfg.Users, budget, reason)
}

// endStop finishes the stop in progress, once Users.Stop has returned or
// (overran) its time is up: flush the test's last stats, then
// client_stopped + client_ready (stop) or quit. It returns true when the
// run is over.
func (w *legacyWorker) endStop(overran bool) (quit bool) {
	s := w.stop
	w.stop = nil
	s.finish(w.log, overran)
	w.state = stateReady
	if s.reason == stopForLoss {
		w.cfg.Stats.Reset()
		w.testOn = false
		w.startConnecting(time.Now()) // housekeep redials within a tick
		return false
	}
	if w.testOn {
		w.report() // the test's last stats, what was recorded while stopping included
		w.testOn = false
	}
	if s.reason == stopForQuit {
		w.send("quit", nil)
		return true
	}
	w.send("client_stopped", nil)
	w.send("client_ready", nil)
	for _, m := range w.takeDeferred() {
		w.dispatch(m) // a hatch sent after stop starts the next test
	}
	return false
}

// lost: the master is gone (or restarted); a new 0.9 master knows nothing
// of us, so stop, forget the stats and say client_ready again once
// reconnected (housekeep waits for the stop to end). A stop in progress
// becomes one for the loss; a quit stays a quit.
func (w *legacyWorker) lost(err error) {
	w.disconnect()
	if w.stop != nil {
		w.log.Warn("lost the Locust master while stopping users", "err", err)
		if w.stop.reason == stopForMaster {
			w.stop.reason = stopForLoss
		}
		return
	}
	w.log.Warn("lost the Locust master; stopping users and reconnecting", "err", err)
	w.beginStop(w.cfg.StopTimeout, stopForLoss)
}

func (w *legacyWorker) startConnecting(now time.Time) {
	w.attempt = 1
	w.attemptEnd = now.Add(w.cfg.ConnectTimeout)
}

// housekeep redials while disconnected and gives up after ConnectRetries
// attempts.
func (w *legacyWorker) housekeep(now time.Time) error {
	if w.link != nil || w.stop != nil {
		return nil
	}
	if now.After(w.attemptEnd) {
		w.log.Warn(fmt.Sprintf("cannot connect to Locust 0.9 master at %s (attempt %d/%d); is `locust --master` running?",
			w.addr, w.attempt, w.cfg.ConnectRetries), "dial_err", w.dialErr)
		if w.attempt >= w.cfg.ConnectRetries {
			return fmt.Errorf("locust: cannot connect to 0.9 master at %s after %d attempts of %v", w.addr, w.attempt, w.cfg.ConnectTimeout)
		}
		w.attempt++
		w.attemptEnd = now.Add(w.cfg.ConnectTimeout)
	}
	w.connect()
	return nil
}

// connect dials both sockets and announces us with client_ready (nil data).
func (w *legacyWorker) connect() {
	l, err := dialPushPull(w.cfg.MasterHost, w.cfg.MasterPort, w.cfg.ConnectTimeout, w.log)
	w.dialErr = err
	if err != nil {
		return
	}
	w.link = l
	w.log.Info("connected to Locust 0.9 master", "id", w.id)
	w.send("client_ready", nil)
}

func (w *legacyWorker) report() {
	if w.link == nil {
		return
	}
	r := w.cfg.Stats.Delta()
	w.send("stats", stats09Data(r, w.cfg.Users.UserCount()))
}
