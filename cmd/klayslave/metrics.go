package main

import (
	"context"
	"time"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/prom"
	"github.com/klayslave/klayslave/stats"
)

// poolPoll is how often -metrics-addr's txpool gauges ask the nodes.
const poolPoll = 2 * time.Second

// serveMetrics starts -metrics-addr's server before anything is funded, so
// that a port in use is bad input, not a wasted funding.
func (s *session) serveMetrics() error {
	if s.o.metricsAddr == "" {
		return nil
	}
	m := prom.New()
	srv, err := prom.Serve(s.o.metricsAddr, m.Handler())
	if err != nil {
		return usagef("-metrics-addr %s: %v; give a free host:port such as :9100", s.o.metricsAddr, err)
	}
	s.metrics, s.metricsSrv = m, srv
	s.log.Info("serving Prometheus metrics", "url", "http://"+srv.Addr()+"/metrics")
	return nil
}

// observeChains gives the metrics each chain's blocks, transactions in
// flight and pool, until ctx (the scanners') ends.
func (s *session) observeChains(ctx context.Context) {
	if s.metrics == nil {
		return
	}
	for _, sd := range s.sides {
		name := sd.chain.Name
		onBlock := func(b klay.BlockStats) { s.metrics.OnBlock(name, b) }
		sd.onBlock.Store(&onBlock)
		s.metrics.InFlight(name, sd.scanner.Pending)
		go s.metrics.PollPool(ctx, name, sd.client, poolPoll, s.log)
	}
}

// sink is where the runner sends results: the collector, the live table's
// window (standalone) and the metrics (when served).
func (s *session) sink() stats.Sink {
	t := stats.Tee{s.stats}
	if s.window != nil {
		t = append(t, s.window)
	}
	if s.metrics != nil {
		t = append(t, s.metrics)
	}
	if s.report != nil {
		t = append(t, s.report)
	}
	if len(t) == 1 {
		return s.stats
	}
	return t
}

// closeMetrics stops serving, once the final stats are flushed.
func (s *session) closeMetrics() {
	if s.metricsSrv != nil {
		_ = s.metricsSrv.Close()
	}
}
