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
	Spawn(counts map[string]int) // absolute per-class target
	StopAll()                    // stop all users and wait
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
//
// Orthogonal to the state is registration: acked is false from each
// client_ready until the current master's ack. While not acked the worker
// sends no heartbeats, no spawning/spawning_complete, and only non-empty
// stats; it resends client_ready every ConnectTimeout.
const (
	stateReady    = "ready"
	stateSpawning = "spawning"
	stateRunning  = "running"
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
}

// RunWorker runs a Locust 2.x worker until the master sends quit or ctx is
// cancelled (both: stop users, send final stats and quit, return nil). It
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

	for {
		select {
		case <-ctx.Done():
			w.log.Info("stopping: context cancelled")
			w.shutdown()
			return nil
		case ev := <-w.inbox():
			if ev.err != nil {
				w.lost(fmt.Errorf("receive: %w", ev.err))
				break
			}
			if quit := w.handle(ev.payload); quit {
				return nil
			}
		case now := <-tick.C:
			if err := w.housekeep(now); err != nil {
				return err
			}
		case <-heartbeat.C:
			w.heartbeat()
		case <-report.C:
			w.report()
		}
		if err := w.takeSendErr(); err != nil {
			w.lost(err)
		}
	}
}

// handle processes one message from the master; it returns true after quit.
func (w *worker) handle(payload []byte) (quit bool) {
	m, err := decodeMessage(payload)
	if err != nil {
		w.log.Warn("ignoring malformed message from master", "err", err, "bytes", len(payload))
		return false
	}
	switch m.Type {
	case "ack":
		w.onAck(m.Data)
	case "spawn":
		w.onSpawn(m.Data)
	case "stop":
		w.onStop()
	case "quit":
		w.log.Info("master sent quit")
		w.shutdown()
		return true
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
	return false
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

// onStop: stop users, client_stopped, then register again (the master
// deleted us on client_stopped).
func (w *worker) onStop() {
	w.log.Info("master sent stop; stopping users")
	w.cfg.Users.StopAll()
	w.state = stateReady
	w.send("client_stopped", nil)
	w.startRegistration(time.Now())
}

// shutdown ends the run (quit or cancellation): stop users, send the final
// stats, then quit.
func (w *worker) shutdown() {
	w.cfg.Users.StopAll()
	w.state = stateReady
	if w.link == nil {
		return
	}
	w.report()
	w.send("quit", nil)
}

// lost handles a broken connection. Mid-registration it only drops the
// socket (housekeep redials). A registered worker assumes the master may
// have restarted: a new master does not know us, and would be confused by
// our old state and stats, so stop users, forget the stats and register
// again.
func (w *worker) lost(err error) {
	w.disconnect()
	w.masterHB = time.Time{}
	if !w.acked {
		w.log.Debug("connection lost while registering", "err", err)
		return
	}
	w.log.Warn("lost the Locust master; stopping users and registering again", "err", err)
	w.cfg.Users.StopAll()
	w.cfg.Stats.Reset()
	w.state = stateReady
	w.lastSpawn = 0 // a new master's clock may be behind the old one's
	w.startRegistration(time.Now())
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

// heartbeat reports our state, CPU and memory, once registered.
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
