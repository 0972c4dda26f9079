// Package locust makes klayslave a Locust worker: it speaks the Locust 2.x
// master/worker protocol (RunWorker) and the Locust 0.9 "hatch" protocol
// (RunLegacyWorker) over ZeroMQ, drives Users and reports Stats.
//
// The wire formats follow docs/locust-protocol-2.md and
// docs/locust-protocol-legacy.md of the shared notes.
package locust

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/klayslave/klayslave/stats"
)

// Users is what the master drives (implemented by *runner.Runner).
type Users interface {
	// Spawn sets the absolute per-class target.
	Spawn(counts map[string]int)
	// Stop stops every user: no new iteration starts at once; work in flight
	// gets until ctx ends, then it is cancelled and counted (as failures, by
	// the implementation). It returns soon after ctx ends at the latest.
	Stop(ctx context.Context)
	Counts() map[string]int
	UserCount() int
}

// Stats is implemented by *stats.Collector.
type Stats interface {
	Delta() stats.Report // delta since previous call; resets
	Reset()              // new test: clear everything
}

// Config configures a worker.
type Config struct {
	MasterHost string // default 127.0.0.1
	MasterPort int    // default 5557
	Users      Users
	Stats      Stats
	Log        *slog.Logger // default slog.Default()
	// ConnectTimeout (default 5 s) is how long to wait for the master's ack
	// before resending client_ready; after ConnectRetries (default 60)
	// unanswered attempts the worker gives up with an error.
	ConnectTimeout time.Duration
	ConnectRetries int
	LegacyClass    string // 0.9 only: the class name passed to Users.Spawn (default "")
	// StopTimeout is the whole budget of the master's stop: grace for calls
	// in flight plus the drain window for transactions awaiting inclusion
	// (default 2 s). Quit and cancellation get 300 ms whatever it is, since
	// a 2.12.1 master waits only 0.5 s for the final stats.
	StopTimeout time.Duration
	// Exceptions are sent to the master as `exception` messages (at most
	// 10 a second); nil means none.
	Exceptions <-chan Exception
}

// Locust's timing constants (runners.py).
const (
	heartbeatInterval = 1 * time.Second
	reportInterval    = 3 * time.Second
	// masterHeartbeatTimeout: Locust >= 2.19 masters answer every heartbeat;
	// once we have seen one, this much silence means the master is gone.
	masterHeartbeatTimeout = 60 * time.Second
)

// clientVersion is client_ready's data: -1 passes any 2.x master's version
// check silently (a non-empty string would too, with a warning).
const clientVersion = -1

func (c Config) withDefaults() (Config, error) {
	if c.Users == nil || c.Stats == nil {
		return c, errors.New("locust: Config.Users and Config.Stats are required")
	}
	if c.MasterHost == "" {
		c.MasterHost = "127.0.0.1"
	}
	if c.MasterPort == 0 {
		c.MasterPort = 5557
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.ConnectRetries <= 0 {
		c.ConnectRetries = 60
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = defaultStopTimeout
	}
	return c, nil
}

func (c Config) addr() string { return net.JoinHostPort(c.MasterHost, strconv.Itoa(c.MasterPort)) }

// tickInterval is how often the loop checks registration deadlines and
// redials a lost master: often enough to re-register within a fraction of a
// second and to honour short ConnectTimeouts.
func (c Config) tickInterval() time.Duration {
	return min(100*time.Millisecond, c.ConnectTimeout/4)
}

// Worker states, as reported in heartbeats (runners.py STATE_*).
//
//	ready     registered (or registering) and idle: no users. Entered at
//	          start, after stop, and after losing the master.
//	spawning  applying a spawn message (Users.Spawn is running).
//	running   users are running at the counts of the last spawn.
//	stopping  Users.Stop is running (after stop, quit, cancellation or
//	          losing the master); spawns received meanwhile wait for its end.
//
// Orthogonal to the state is registration: acked is false from each
// client_ready until the current master's ack. While not acked the worker
// sends no heartbeats, no spawning/spawning_complete, and only non-empty
// stats; it resends client_ready every ConnectTimeout.
const (
	stateReady    = "ready"
	stateSpawning = "spawning"
	stateRunning  = "running"
	stateStopping = "stopping" // a state the 2.x master knows (runners.py STATE_STOPPING)
)

// worker is the Locust 2.x state machine. All fields are owned by the loop
// goroutine (run).
type worker struct {
	cfg Config
	session

	state     string
	lastSpawn float64 // timestamp of the last applied spawn

	acked      bool
	attempt    int       // registration attempt, 1..ConnectRetries
	attemptEnd time.Time // when the current attempt's wait for ack ends
	dialErr    error     // last dial failure, for the log

	masterHB time.Time // last heartbeat from a >= 2.19 master; zero if none
	cpu      cpuMeter

	stop *stopRun // the Users.Stop in progress; nil if none
}

// RunWorker runs a Locust 2.x worker until the master sends quit or ctx is
// cancelled (both: stop users within 300 ms, send final stats and quit,
// return nil). It
// returns an error if the master does not ack client_ready within
// ConnectRetries attempts, initially or after losing the master.
func RunWorker(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	id, err := newClientID()
	if err != nil {
		return err
	}
	return newWorker(cfg, id).run(ctx)
}

func newWorker(cfg Config, id string) *worker {
	return &worker{cfg: cfg, session: session{id: id, log: cfg.Log.With("master", cfg.addr())}, state: stateReady}
}

func (w *worker) run(ctx context.Context) error {
	defer w.disconnect()
	w.log.Info("connecting to Locust master", "id", w.id)
	w.startRegistration(time.Now())

	tick := time.NewTicker(w.cfg.tickInterval())
	defer tick.Stop()
	heartbeat := time.NewTicker(heartbeatInterval)
	defer heartbeat.Stop()
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
			if err := w.housekeep(now); err != nil {
				return err
			}
		case now := <-heartbeat.C:
			w.exGate.roll(now, w.log)
			w.heartbeat()
		case <-report.C:
			w.report()
		}
		if err := w.takeSendErr(); err != nil {
			w.lost(err)
		}
	}
}

// handle processes one message from the master.
func (w *worker) handle(payload []byte) {
	m, err := decodeMessage(payload)
	if err != nil {
		w.log.Warn("ignoring malformed message from master", "err", err, "bytes", len(payload))
		return
	}
	w.dispatch(m)
}

func (w *worker) dispatch(m message) {
	switch m.Type {
	case "ack":
		w.onAck(m.Data)
	case "spawn":
		if w.stop != nil {
			w.deferMsg(m)
			return
		}
		w.onSpawn(m.Data)
	case "stop":
		w.onStop()
	case "quit":
		w.log.Info("master sent quit")
		w.beginQuit()
	case "reconnect":
		w.log.Warn("master asked to reconnect; resetting the connection")
		w.disconnect()
		w.masterHB = time.Time{}
		if err := w.dial(); err != nil {
			w.lost(err)
		}
	case "heartbeat": // Locust >= 2.19 answers our heartbeats
		w.masterHB = time.Now()
	default:
		w.log.Warn("ignoring unknown message type from master", "type", m.Type)
	}
}

func (w *worker) onAck(data any) {
	if w.acked {
		w.log.Debug("duplicate ack")
		return
	}
	w.acked = true
	index := "?"
	if m, ok := data.(map[string]any); ok {
		if i, err := toCount(m["index"]); err == nil {
			index = strconv.Itoa(i)
		}
	}
	w.log.Info("registered with Locust master", "id", w.id, "index", index)
}

// onSpawn applies absolute per-class counts (runners.py WorkerRunner.worker,
// "spawn"). A stale spawn is discarded before anything is sent, so it does
// not flip the master's view of our state.
func (w *worker) onSpawn(data any) {
	sp, err := parseSpawn(data)
	if err != nil {
		w.log.Warn("ignoring malformed spawn", "err", err)
		return
	}
	if !w.acked {
		w.log.Warn("ignoring spawn from a master that has not acked us")
		return
	}
	if sp.Timestamp <= w.lastSpawn {
		w.log.Info("discarding spawn with an older or equal timestamp", "timestamp", sp.Timestamp, "last", w.lastSpawn)
		return
	}
	w.lastSpawn = sp.Timestamp
	w.send("spawning", nil)
	if w.state != stateSpawning && w.state != stateRunning {
		w.cfg.Stats.Reset() // a new test starts
	}
	w.state = stateSpawning
	w.cfg.Users.Spawn(sp.Counts)
	w.state = stateRunning
	counts := w.cfg.Users.Counts()
	for class := range sp.Counts {
		if _, ok := counts[class]; !ok {
			counts[class] = 0
		}
	}
	n := w.cfg.Users.UserCount()
	w.log.Info("spawned users", "counts", counts, "total", n)
	w.send("spawning_complete", spawningCompleteData(counts, n))
}

// onStop starts stopping the users within StopTimeout; endStop then sends
// the final stats, client_stopped, and registers again (the master deletes
// us on client_stopped).
func (w *worker) onStop() {
	if w.stop != nil {
		w.log.Info("master sent stop while already stopping users")
		return
	}
	w.log.Info("master sent stop; stopping users", "timeout", w.cfg.StopTimeout)
	w.beginStop(w.cfg.StopTimeout, stopForMaster)
}

// beginQuit ends the run (quit or cancellation): stop users within
// quitBudget (cutting short a stop in progress); endStop then sends the
// final stats and quit.
func (w *worker) beginQuit() {
	if w.stop != nil {
		w.stop.hurry()
		return
	}
	w.beginStop(quitBudget, stopForQuit)
}

func (w *worker) beginStop(budget time.Duration, reason stopReason) {
	w.stop = startStop(w.cfg.Users, budget, reason)
	if reason == stopForQuit {
		// No "stopping" on quit: a 2.12.1 master no longer counts a
		// stopping worker, so when another worker's quit arrives first it
		// decides the last worker quit, stops listening, and this worker's
		// final stats are lost (34 of 3,999 requests in one run).
		return
	}
	w.state = stateStopping
	w.heartbeat() // tell the master at once, not within a second
}

// endStop finishes the stop in progress, once Users.Stop has returned or
// (overran) its time is up. It returns true when the run is over.
func (w *worker) endStop(overran bool) (quit bool) {
	s := w.stop
	w.stop = nil
	s.finish(w.log, overran)
	w.state = stateReady
	switch s.reason {
	case stopForQuit:
		if w.link != nil {
			w.report() // what was recorded while stopping
			w.send("quit", nil)
		}
		return true
	case stopForLoss:
		w.cfg.Stats.Reset()
		w.lastSpawn = 0 // a new master's clock may be behind the old one's
		w.startRegistration(time.Now())
	case stopForMaster:
		w.report() // what was recorded while stopping
		w.send("client_stopped", nil)
		w.startRegistration(time.Now())
	}
	// Spawns sent before the master saw client_stopped are stale for the
	// new registration and are dropped by onSpawn until the next ack.
	for _, m := range w.takeDeferred() {
		w.dispatch(m)
	}
	return false
}

// lost handles a broken connection. Mid-registration it only drops the
// socket (housekeep redials). A registered worker assumes the master may
// have restarted: a new master does not know us, and would be confused by
// our old state and stats, so stop users, forget the stats and register
// again.
//
// While a stop is in progress, a stop for the master becomes one for the
// loss; a quit stays a quit (with nothing left to send it to).
func (w *worker) lost(err error) {
	w.disconnect()
	w.masterHB = time.Time{}
	if w.stop != nil {
		w.log.Warn("lost the Locust master while stopping users", "err", err)
		if w.stop.reason == stopForMaster {
			w.stop.reason = stopForLoss
		}
		return
	}
	if !w.acked {
		w.log.Debug("connection lost while registering", "err", err)
		return
	}
	w.log.Warn("lost the Locust master; stopping users and registering again", "err", err)
	w.beginStop(w.cfg.StopTimeout, stopForLoss)
}

// startRegistration begins attempt 1 of client_ready → ack.
func (w *worker) startRegistration(now time.Time) {
	w.acked = false
	w.attempt = 1
	w.attemptEnd = now.Add(w.cfg.ConnectTimeout)
	if w.link == nil {
		_ = w.dial() // a failure is logged when the attempt times out
	}
	w.sendClientReady()
}

// housekeep runs every tick: redial while disconnected, time out
// registration attempts, and watch a >= 2.19 master's heartbeats.
func (w *worker) housekeep(now time.Time) error {
	if w.acked {
		if !w.masterHB.IsZero() && now.Sub(w.masterHB) > masterHeartbeatTimeout {
			w.lost(fmt.Errorf("no heartbeat from master for %v", masterHeartbeatTimeout))
		}
		return nil
	}
	if now.After(w.attemptEnd) {
		w.log.Warn(fmt.Sprintf("no ack from Locust master at %s (attempt %d/%d); is `locust --master` running?",
			w.cfg.addr(), w.attempt, w.cfg.ConnectRetries), "dial_err", w.dialErr)
		if w.attempt >= w.cfg.ConnectRetries {
			return fmt.Errorf("locust: no ack from master at %s after %d attempts of %v", w.cfg.addr(), w.attempt, w.cfg.ConnectTimeout)
		}
		w.attempt++
		w.attemptEnd = now.Add(w.cfg.ConnectTimeout)
		w.sendClientReady()
	}
	if w.link == nil && w.dial() == nil {
		w.sendClientReady()
	}
	return nil
}

func (w *worker) sendClientReady() {
	w.send("client_ready", intData(clientVersion))
}

// heartbeat reports our state, CPU and memory, once registered; also while
// stopping, so that a long stop does not make the master (which marks a
// worker missing after ~4 s without one) lose us.
func (w *worker) heartbeat() {
	if !w.acked || w.link == nil {
		return
	}
	w.send("heartbeat", heartbeatData(w.state, w.cpu.percent(), residentBytes()))
}

// report sends the stats delta (every 3 s, in every state). Before an ack
// an empty delta is not worth a "Discarded report" on the master; while
// disconnected the data stays in Stats.
func (w *worker) report() {
	if w.link == nil {
		return
	}
	r := w.cfg.Stats.Delta()
	if !w.acked && len(r.Entries) == 0 && len(r.Errors) == 0 {
		return
	}
	w.send("stats", stats2Data(r, w.cfg.Users.Counts(), w.cfg.Users.UserCount()))
}

func (w *worker) dial() error {
	l, err := dialDealer(w.cfg.MasterHost, w.cfg.MasterPort, w.id, w.cfg.ConnectTimeout, w.log)
	w.dialErr = err
	if err != nil {
		return err
	}
	w.link = l
	return nil
}
