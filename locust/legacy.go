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
const stateHatching = "hatching"

// legacyWorker is the Locust 0.9 state machine. All fields are owned by the
// loop goroutine (run).
type legacyWorker struct {
	cfg  Config
	addr string // "host:port/port+1", for logs
	session

	state string

	// connecting: attempts to dial both sockets, one per ConnectTimeout.
	attempt    int
	attemptEnd time.Time
	dialErr    error

	hatch     hatchPlan
	hatchWake *time.Timer // fires when the next user is due while hatching
}

// hatchPlan paces a hatch: user base+i+1 starts at start + i/rate.
type hatchPlan struct {
	target, base, spawned int
	rate                  float64
	start                 time.Time
}

// RunLegacyWorker runs a Locust 0.9 slave (PUSH to MasterPort, PULL from
// MasterPort+1) until the master sends quit or ctx is cancelled (both: stop
// users, final stats, quit, return nil). It returns an error if it cannot
// connect within ConnectRetries attempts of ConnectTimeout.
func RunLegacyWorker(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
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
		case now := <-w.hatchWake.C:
			w.hatchStep(now)
		case <-report.C:
			if w.state == stateHatching || w.state == stateRunning {
				w.report()
			}
		}
		if err := w.takeSendErr(); err != nil {
			w.lost(err)
		}
	}
}

func (w *legacyWorker) handle(payload []byte) (quit bool) {
	m, err := decodeMessage(payload)
	if err != nil {
		w.log.Warn("ignoring malformed message from master", "err", err, "bytes", len(payload))
		return false
	}
	switch m.Type {
	case "hatch":
		w.onHatch(m.Data)
	case "stop":
		w.log.Info("master sent stop; stopping users")
		w.stopUsers()
		w.send("client_stopped", nil)
		w.send("client_ready", nil)
	case "quit":
		w.log.Info("master sent quit")
		w.shutdown()
		return true
	default:
		w.log.Warn("ignoring unknown message type from master", "type", m.Type)
	}
	return false
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

// stopUsers ends a test: stop users, flush its last stats, become ready.
func (w *legacyWorker) stopUsers() {
	w.hatchWake.Stop()
	w.cfg.Users.StopAll()
	if w.state == stateHatching || w.state == stateRunning {
		w.report()
	}
	w.state = stateReady
}

func (w *legacyWorker) shutdown() {
	w.stopUsers()
	w.send("quit", nil)
}

// lost: the master is gone (or restarted); a new 0.9 master knows nothing
// of us, so stop, forget the stats and say client_ready again once
// reconnected.
func (w *legacyWorker) lost(err error) {
	w.disconnect()
	w.log.Warn("lost the Locust master; stopping users and reconnecting", "err", err)
	w.hatchWake.Stop()
	w.cfg.Users.StopAll()
	w.cfg.Stats.Reset()
	w.state = stateReady
	w.startConnecting(time.Now()) // housekeep redials within a tick
}

func (w *legacyWorker) startConnecting(now time.Time) {
	w.attempt = 1
	w.attemptEnd = now.Add(w.cfg.ConnectTimeout)
}

// housekeep redials while disconnected and gives up after ConnectRetries
// attempts.
func (w *legacyWorker) housekeep(now time.Time) error {
	if w.link != nil {
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
