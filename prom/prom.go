// Package prom exposes a run as Prometheus metrics: a stats.Sink of the
// results, plus observers of the chains' blocks, the users, the
// transactions in flight and the nodes' transaction pools.
//
// Every name has the klayslave_ prefix, base units (seconds) and _total on
// counters. Labels are case, chain and direction, and a reason or status
// from a fixed set: never a hash, an address or an error's text, so the
// number of series stays bounded whatever the run does.
package prom

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

const ns = "klayslave"

// The rows' methods as tc names them: an iteration decided by its block,
// the node's acceptance beside it.
const (
	methodTx   = "tx"
	methodSend = "send"
)

// Reasons a sent transaction got no block verdict, and statuses of those a
// block holds: the values of the reason and status labels.
const (
	statusSuccess = "success"
	statusRevert  = "reverted"
)

var rowLabels = []string{"case", "chain", "direction"}

// Metrics is a registry of the run's metrics. Record, OnBlock and the
// observers are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	iterations  *prometheus.CounterVec
	sent        *prometheus.CounterVec
	sendErrors  *prometheus.CounterVec
	included    *prometheus.CounterVec
	notIncluded *prometheus.CounterVec
	dropped     prometheus.Counter

	sendLatency      *prometheus.HistogramVec
	inclusionLatency *prometheus.HistogramVec

	blocks      *prometheus.CounterVec
	blockTxs    *prometheus.CounterVec
	lastBlock   *prometheus.GaugeVec
	poolPending *prometheus.GaugeVec
	poolQueued  *prometheus.GaugeVec
	poolErrors  *prometheus.CounterVec
}

// New returns the metrics, registered with a registry of their own (no
// process or Go runtime collectors: the numbers are the run's).
func New() *Metrics {
	with := func(extra ...string) []string { return append(append([]string{}, rowLabels...), extra...) }
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		iterations: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "iterations_total",
			Help: "Iterations ended (the summary's Aggregated rows), by result: success or failure."}, with("result")),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "transactions_sent_total",
			Help: "Transactions the node accepted."}, with()),
		sendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "send_errors_total",
			Help: "Transactions not sent, by reason: nonce-taken, pool-full, underpriced, rejected, unknown, lane-full, out-of-funds, stopped, timeout."}, with("reason")),
		included: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "transactions_included_total",
			Help: "Sent transactions a block holds, by receipt status: success or reverted."}, with("status")),
		notIncluded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "transactions_not_included_total",
			Help: "Sent transactions no block held, by reason: timeout (the inclusion timeout in blocks), replaced, scanner-stopped, unconfirmed (the run ended first)."}, with("reason")),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dropped_iterations_total",
			Help: "Iterations due when no user was free to take them (open model)."}),
		sendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "send_latency_seconds",
			Help:    "From an iteration's due time to the node's acceptance of its transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, with()),
		inclusionLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "inclusion_latency_seconds",
			Help:    "From an iteration's due time to the time of the block that holds its transaction.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 13)}, with()),
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "blocks_total",
			Help: "Blocks scanned."}, []string{"chain"}),
		blockTxs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "block_transactions_total",
			Help: "Transactions in the blocks scanned, by scope: ours (this run's) or all; their rate is the on-chain TPS."}, []string{"chain", "scope"}),
		lastBlock: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_block_transactions",
			Help: "Transactions in the last block scanned, by scope: ours (this run's) or all."}, []string{"chain", "scope"}),
		poolPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "txpool_pending",
			Help: "Executable transactions in the node's pool (txpool_status), polled."}, []string{"chain"}),
		poolQueued: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "txpool_queued",
			Help: "Transactions in the node's pool waiting for a missing nonce (txpool_status), polled."}, []string{"chain"}),
		poolErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "txpool_status_errors_total",
			Help: "Failed txpool_status polls (the gauges keep their last value)."}, []string{"chain"}),
	}
	m.reg.MustRegister(m.iterations, m.sent, m.sendErrors, m.included, m.notIncluded, m.dropped,
		m.sendLatency, m.inclusionLatency, m.blocks, m.blockTxs, m.lastBlock, m.poolPending, m.poolQueued, m.poolErrors)
	return m
}

// Registry is where the metrics are registered (for tests and extra
// collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format. The handler's own
// error counter is not registered: every name served has the klayslave_
// prefix.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Record implements stats.Sink.
func (m *Metrics) Record(r stats.Result) {
	if r.Method == runner.MethodIter && r.Name == runner.DroppedName {
		m.dropped.Inc()
		return
	}
	kase, chain, dir := labelsOf(r)
	if !r.Aside {
		result := "success"
		if r.Err != nil {
			result = "failure"
		}
		m.iterations.WithLabelValues(kase, chain, dir, result).Inc()
	}
	switch r.Method {
	case methodSend:
		if r.Err != nil {
			m.sendErrors.WithLabelValues(kase, chain, dir, SendReason(r.Err)).Inc()
			return
		}
		m.sent.WithLabelValues(kase, chain, dir).Inc()
		m.sendLatency.WithLabelValues(kase, chain, dir).Observe(r.Latency.Seconds())
	case methodTx:
		if errors.Is(r.Err, klay.ErrUnconfirmed) {
			m.notIncluded.WithLabelValues(kase, chain, dir, "unconfirmed").Inc()
			return
		}
		switch {
		case r.Err == nil:
			m.included.WithLabelValues(kase, chain, dir, statusSuccess).Inc()
		case errors.Is(r.Err, klay.ErrReverted):
			m.included.WithLabelValues(kase, chain, dir, statusRevert).Inc()
		default:
			if reason := missReason(r.Err); reason != "" {
				m.notIncluded.WithLabelValues(kase, chain, dir, reason).Inc()
			}
			// Any other error is the send's, counted by its send row.
			return
		}
		m.inclusionLatency.WithLabelValues(kase, chain, dir).Observe(r.Latency.Seconds())
	}
}

// labelsOf returns a result's labels; a row without them (rpcPing, a
// panic) is named "<case>" or "<case> <direction>…", as tc names rows.
func labelsOf(r stats.Result) (kase, chain, dir string) {
	kase, chain, dir = r.Case, r.Chain, r.Direction
	if kase == "" {
		kase, _, _ = strings.Cut(r.Name, " ")
	}
	if dir == "" {
		switch {
		case strings.Contains(r.Name, "main→service"):
			dir = "main-to-service"
		case strings.Contains(r.Name, "service→main"):
			dir = "service-to-main"
		}
	}
	return kase, chain, dir
}

// SendReason sorts a send's error into a fixed set of reasons: the send
// outcomes of klay.ClassifySendError, the lanes' own refusals, and a stop.
func SendReason(err error) string {
	var se *klay.SendError
	switch {
	case errors.Is(err, klay.ErrOutOfFunds):
		return "out-of-funds"
	case errors.Is(err, klay.ErrLaneFull):
		return "lane-full"
	case errors.As(err, &se):
		return se.Outcome.String()
	case errors.Is(err, context.Canceled):
		return "stopped"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return klay.ClassifySendError(err).String()
}

// missReason is the reason label of a sent transaction no block held, or
// "" for an error that is not an inclusion verdict.
func missReason(err error) string {
	switch {
	case errors.Is(err, klay.ErrNotIncluded):
		return "timeout"
	case errors.Is(err, klay.ErrReplaced):
		return "replaced"
	case errors.Is(err, klay.ErrScanStopped):
		return "scanner-stopped"
	}
	return ""
}

// OnBlock counts a scanned block of chain ("main", "service"): the
// scanner's OnBlock observer.
func (m *Metrics) OnBlock(chain string, b klay.BlockStats) {
	m.blocks.WithLabelValues(chain).Inc()
	m.blockTxs.WithLabelValues(chain, "ours").Add(float64(b.Ours))
	m.blockTxs.WithLabelValues(chain, "all").Add(float64(b.Txs))
	m.lastBlock.WithLabelValues(chain, "ours").Set(float64(b.Ours))
	m.lastBlock.WithLabelValues(chain, "all").Set(float64(b.Txs))
}

// Users reports f's value, read at each scrape, as klayslave_users.
func (m *Metrics) Users(f func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "users",
		Help: "Users running."}, func() float64 { return float64(f()) }))
}

// InFlight reports f's value for chain, read at each scrape, as
// klayslave_transactions_in_flight: sent transactions awaiting a block.
func (m *Metrics) InFlight(chain string, f func() int) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "transactions_in_flight",
		Help: "Sent transactions awaiting a block.", ConstLabels: prometheus.Labels{"chain": chain}},
		func() float64 { return float64(f()) }))
}

// PoolStatuser is a node that counts its pool's transactions.
type PoolStatuser interface {
	TxPoolStatus(ctx context.Context) (klay.PoolStatus, error)
}

// PollPool sets chain's txpool gauges from p every interval until ctx
// ends. Each poll is bounded by the interval, so a node that does not
// answer never holds the poller; a failure is counted and logged once.
func (m *Metrics) PollPool(ctx context.Context, chain string, p PoolStatuser, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		every = 5 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	warned := false
	for {
		pctx, cancel := context.WithTimeout(ctx, every)
		st, err := p.TxPoolStatus(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			m.poolErrors.WithLabelValues(chain).Inc()
			if !warned && log != nil {
				warned = true
				log.Warn("txpool_status failed; the txpool gauges keep their last value (serve the txpool namespace for them)", "chain", chain, "err", err)
			}
		default:
			m.poolPending.WithLabelValues(chain).Set(float64(st.Pending))
			m.poolQueued.WithLabelValues(chain).Set(float64(st.Queued))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
