// Command klayslave is a load generator for Klaytn/Kaia main chains, service
// chains and their bridges. It runs as a Locust worker (the default) or
// standalone (klayslave run). This file holds only flags and wiring.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/locust"
	"github.com/klayslave/klayslave/prom"
	"github.com/klayslave/klayslave/report"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

const usageText = `usage:
  klayslave [flags]          join a Locust master as a worker (the seed's usage)
  klayslave run [flags]      run standalone: no master, live table, final report
  klayslave list             list the test cases
  klayslave check [flags]    only run the pre-flight checks of both chains
  klayslave sweep -run ID    return a crashed run's test-account funds to the funders
  klayslave report merge -o DIR a.json b.json ...
                             merge workers' -report-dir reports into one
  klayslave <command> -h     show the flags of a command`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		// The first signal stops the users, flushes the stats and sweeps;
		// from now on a second one kills the process at once.
		stop()
		fmt.Fprintln(os.Stderr, "klayslave: stopping: final stats, then returning funds (Ctrl-C again to quit at once)")
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 success,
// 1 failure, 2 bad input.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "worker"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "worker":
		err = runWorker(ctx, args, stderr)
	case "run":
		err = runStandalone(ctx, args, stdout, stderr)
	case "list":
		err = list(stdout)
	case "check":
		err = check(ctx, args, stdout)
	case "sweep":
		err = sweep(ctx, args, stderr)
	case "report":
		err = reportCommand(args, stdout)
	case "help":
		fmt.Fprintln(stdout, usageText)
	default:
		err = usagef("unknown command %q; commands are: run, list, check, sweep, report (or none, to join a Locust master)", cmd)
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, cmd)
		return 0
	case errors.As(err, &ue), klay.IsPreflight(err):
		fmt.Fprintln(stderr, "klayslave:", oneLine(err.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "klayslave:", oneLine(err.Error()))
		return 1
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func printHelp(w io.Writer, cmd string) {
	fmt.Fprintln(w, usageText)
	fmt.Fprintln(w, "\n"+envHelp)
	fmt.Fprintln(w, "\nflags:")
	var o options
	fs := newFlagSet(cmd, &o, cmd == "run")
	withEnvNames(fs)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// list prints the test cases by family, then the presets.
func list(w io.Writer) error {
	reg := tc.Builtin()
	byFamily := map[string][]tc.Case{}
	var families []string
	for _, c := range reg.All() {
		f := c.Family
		if f == "" {
			f = "other"
		}
		if byFamily[f] == nil {
			families = append(families, f)
		}
		byFamily[f] = append(byFamily[f], c)
	}
	sort.Strings(families)
	for _, f := range families {
		fmt.Fprintf(w, "%s:\n", f)
		for _, c := range byFamily[f] {
			fmt.Fprintf(w, "  %-40s %s\n", c.Name, c.Description)
		}
	}
	fmt.Fprintln(w, "presets (-tc=NAME runs the mix; weight cases yourself with -tc=a:2,b:1):")
	for _, p := range reg.Presets() {
		var mix []string
		for _, c := range p.Cases {
			mix = append(mix, fmt.Sprintf("%s:%d", c.Name, c.Weight))
		}
		fmt.Fprintf(w, "  %-40s %s: %s\n", p.Name, p.Description, strings.Join(mix, ","))
	}
	return nil
}

// session is everything one load run holds: flags, logger, users, stats,
// and, for cases that send transactions, both chains' funded test accounts.
type session struct {
	o      *options
	log    *slog.Logger
	runner *runner.Runner
	stats  *stats.Collector
	sides  []*side
	stderr io.Writer
	close  func()
	// stopScan ends the block scanners; whatever they still await then
	// fails with "scanner stopped".
	stopScan context.CancelFunc
	// fixed are the classes named after a case: their users run only it.
	builtin *tc.Registry
	warned  map[string]bool
	panics  chan locust.Exception
	// report (nil without -report-dir) records the results and blocks of
	// the load; reportConfig is what report.json says of the flags.
	report       *report.Recorder
	reportConfig map[string]string
	stopSampling context.CancelFunc
	// metrics are served at -metrics-addr; nil without it.
	metrics    *prom.Metrics
	metricsSrv *prom.Server
	// window counts the live table's req/s (standalone).
	window *stats.Window
}

// prepare parses the flags shared by worker and standalone mode, funds test
// accounts when a case needs them, and prepares every case.
func prepare(ctx context.Context, name string, args []string, standalone bool, stderr io.Writer) (*session, error) {
	o := &options{}
	fs := newFlagSet(name, o, standalone)
	if err := parseFlags(fs, args, o); err != nil {
		return nil, err
	}
	if o.tc == "" {
		return nil, usagef("-tc is required; for example -tc=rpcPing (see 'klayslave list')")
	}
	reg := tc.Builtin()
	cases, err := reg.Parse(o.tc)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	s := &session{o: o, stderr: stderr, close: func() {}, stopScan: func() {}, stopSampling: func() {}, builtin: reg, warned: map[string]bool{},
		panics: make(chan locust.Exception, 64)}
	s.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return nil, usagef("-cpuprofile %s: %v; give a file this user can write", o.cpuProfile, oneLine(err.Error()))
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		closeLog := s.close
		s.close = func() { pprof.StopCPUProfile(); f.Close(); closeLog() }
	}
	if o.reportDir != "" {
		// Found out now, not after the whole run.
		if err := os.MkdirAll(o.reportDir, 0o755); err != nil {
			return nil, usagef("-report-dir %s: %v; give a directory this user can write", o.reportDir, oneLine(err.Error()))
		}
		s.report = report.New(report.Config{Users: func() int { return s.runner.UserCount() }})
		s.reportConfig = reportConfig(fs, name, o)
	}
	pool := max(o.users, o.numMcUser+o.numScUser, 100)
	if err := s.serveMetrics(); err != nil {
		return nil, err
	}
	env := &tc.Env{
		MCEndpoint: o.mcEndpoint,
		SCEndpoint: o.scEndpoint,
		HTTP:       &http.Client{Transport: pooledTransport(pool), Timeout: 30 * time.Second},
		StateDir:   klay.StateDir(o.logDir),
		Direction:  o.direction,
		Contracts:  o.contracts,
	}
	if needsChains(cases) {
		// The scanners outlive the load: they follow the last
		// transactions to their blocks while the run drains.
		scanCtx, stopScan := context.WithCancel(context.WithoutCancel(ctx))
		s.stopScan = stopScan
		if err := s.setupChains(ctx, scanCtx, env, pool, needsFeePayers(cases)); err != nil {
			stopScan()
			s.close()
			s.closeMetrics()
			return nil, err
		}
		s.observeChains(scanCtx)
	}
	env.Log = s.log
	var tasks []runner.Named
	for _, c := range cases {
		t, err := c.New(ctx, env)
		if err != nil {
			s.finish()
			if mc := (*tc.MissingContractError)(nil); errors.As(err, &mc) {
				return nil, usagef("%s: -contracts gives %s=%s, but the %s chain has no code there: give the address of a deployed %s, or leave it out of -contracts and set-up deploys one (recorded under -log-dir for the other workers)",
					c.Name, mc.Contract, mc.Address.Hex(), mc.Chain, mc.Contract)
			}
			return nil, fmt.Errorf("preparing %s: %w", c.Name, err)
		}
		tasks = append(tasks, runner.Named{Name: c.Name, Weight: c.Weight, Task: t})
	}
	s.stats = stats.NewCollector(nil)
	if standalone {
		s.window = stats.NewWindow(liveWindow, nil)
	}
	s.runner = runner.New(runner.Config{Tasks: tasks, Sink: s.sink(), MaxRPS: o.maxRPS, Ramp: o.ramp, Log: s.log,
		OnPanic: s.onPanic})
	if s.metrics != nil {
		s.metrics.Users(s.runner.UserCount)
	}
	if s.report != nil {
		var sampling context.Context
		sampling, s.stopSampling = context.WithCancel(context.WithoutCancel(ctx))
		go s.report.Run(sampling)
	}
	return s, nil
}

func needsChains(cases []tc.Case) bool {
	for _, c := range cases {
		if c.NeedsChains {
			return true
		}
	}
	return false
}

func needsFeePayers(cases []tc.Case) bool {
	for _, c := range cases {
		if c.NeedsFeePayers {
			return true
		}
	}
	return false
}

// setupChains checks both chains, funds this run's test accounts and fills
// env. From here on the log also goes to a file named by the funder's
// address.
func (s *session) setupChains(ctx, scanCtx context.Context, env *tc.Env, pool int, feePayers bool) error {
	o := s.o
	runID := o.runID
	if runID == "" {
		runID = klay.NewRunID(time.Now())
	}
	if key, err := klay.MainChainKeySource(o.mcKey, o.mcKeyFile).Load(); err == nil {
		f, err := logFile(o, key)
		if err != nil {
			return fmt.Errorf("opening the log file in -log-dir %s: %w", o.logDir, err)
		}
		s.log = slog.New(slog.NewMultiHandler(s.log.Handler(), slog.NewTextHandler(f, nil)))
		prev := s.close
		s.close = func() { f.Close(); prev() }
	}
	s.log.Info("setting up test accounts", "run", runID, "mc users", o.numMcUser, "sc users", o.numScUser)
	var err error
	s.sides, err = chainSetup(ctx, scanCtx, o, runID, pool, feePayers, s.stderr, s.log, s.report)
	if err != nil {
		if len(s.sides) > 0 && !o.noSweep {
			s.log.Info("returning what was funded before the failure")
			_ = sweepAll(s.sides, s.stderr, s.log)
		}
		return err
	}
	for _, sd := range s.sides {
		if err := sd.track(o, s.log); err != nil {
			return err
		}
		switch sd.short {
		case "mc":
			env.MC = sd.chain
		case "sc":
			env.SC = sd.chain
		}
	}
	sub := o.subbridgeURL
	if sub == "" {
		sub = o.scEndpoint
	}
	if env.Subbridge, err = klay.Dial(ctx, sub, 4); err != nil {
		return usagef("-subbridgeEndpoint %s: %v", sub, err)
	}
	if o.mcBridge != "" {
		env.MCBridge = common.HexToAddress(o.mcBridge)
	}
	if o.scBridge != "" {
		env.SCBridge = common.HexToAddress(o.scBridge)
	}
	return nil
}

// Spawn implements locust.Users: it warns once about a user class named
// after a built-in case that -tc does not name.
func (s *session) Spawn(counts map[string]int) {
	for class := range counts {
		if c, ok := s.builtin.Lookup(class); ok && !s.warned[class] && !s.runsCase(c.Name) {
			s.warned[class] = true
			s.log.Warn(fmt.Sprintf("user class %q is named after test case %s, which -tc does not name; its users run the -tc cases (%s) by weight", class, c.Name, s.o.tc))
		}
	}
	if s.runner.UserCount() == 0 {
		s.resetBlocks() // a new test: count its blocks, not the funding's
	}
	s.runner.Spawn(counts)
}

func (s *session) runsCase(name string) bool {
	for _, n := range s.runner.Names() {
		if n == name {
			return true
		}
	}
	return false
}

// Stop implements locust.Users: the users stop (calls in flight get
// -stop-timeout, bounded by ctx), then the transactions they sent are
// followed to their blocks until ctx ends.
func (s *session) Stop(ctx context.Context) {
	grace, cancel := context.WithTimeout(ctx, s.o.stopTimeout)
	s.runner.Stop(grace)
	cancel()
	s.drain(ctx)
}

// StopAll stops with the whole budget: -stop-timeout plus -drain-timeout.
func (s *session) StopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), s.o.stopTimeout+s.o.drainTimeout)
	defer cancel()
	s.Stop(ctx)
}

// Counts implements locust.Users.
func (s *session) Counts() map[string]int { return s.runner.Counts() }

// UserCount implements locust.Users.
func (s *session) UserCount() int { return s.runner.UserCount() }

// drain waits, until ctx ends, for the scanners to see the blocks of every
// transaction sent.
func (s *session) drain(ctx context.Context) {
	for _, sd := range s.sides {
		if sd.scanner == nil {
			continue
		}
		if n := sd.scanner.Pending(); n > 0 {
			s.log.Info("waiting for sent transactions to reach a block", "chain", sd.label, "pending", n)
		}
		if sd.scanner.Drain(ctx) > 0 {
			// Every sent transaction gets a row before the final report,
			// so the master's totals equal the worker's; those with no
			// verdict stand aside as unconfirmed.
			n := sd.scanner.Abandon(klay.ErrUnconfirmed)
			s.log.Warn("transactions still awaiting a block when the stop ended; reported as unconfirmed, outside the total", "chain", sd.label, "count", n)
		}
	}
}

// resetBlocks starts counting blocks anew: the load begins.
func (s *session) resetBlocks() {
	for _, sd := range s.sides {
		sd.blocks.Reset()
	}
	s.report.Reset()
}

// printBlocks prints what the blocks held during the load, per chain.
func (s *session) printBlocks(w io.Writer) {
	for _, sd := range s.sides {
		if sd.scanner == nil {
			continue
		}
		t := sd.blocks.Get()
		if t.Blocks == 0 {
			continue
		}
		fmt.Fprintf(w, "%s blocks #%d–#%d: %d of this run's transactions (%.1f tx/s of block time), %d in all, %d blocks without ours, longest interval %s; %d blocks' receipts proven by their headers\n",
			sd.label, t.First, t.Last, t.Ours, t.TPS(), t.All, t.EmptyOfOurs, t.MaxInterval, sd.scanner.Counts().Proven)
	}
}

// onPanic passes a test case's panic on to the Locust master.
func (s *session) onPanic(task string, v any, stack []byte) {
	select {
	case s.panics <- locust.Exception{Msg: fmt.Sprintf("%s: panic: %v", task, v), Traceback: string(stack)}:
	default: // the master is told about enough of them
	}
}

// finish returns the test accounts' funds to the funders (unless
// -no-sweep), stops the scanners, which the sweep waits through, and
// closes the log file.
func (s *session) finish() error {
	defer s.closeMetrics()
	defer s.close()
	defer s.stopScan()
	if s.o.noSweep || len(s.sides) == 0 {
		for _, sd := range s.sides {
			if sd.run != nil {
				s.log.Info("not sweeping; recover later with 'klayslave sweep -run'", "run", sd.run.State.RunID, "chain", sd.label)
			}
		}
		return nil
	}
	return sweepAll(s.sides, s.stderr, s.log)
}

// pooledTransport keeps enough idle connections for every user, so a load
// test does not spend its time on TCP handshakes.
func pooledTransport(conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	return t
}

func runWorker(ctx context.Context, args []string, stderr io.Writer) error {
	s, err := prepare(ctx, "klayslave", args, false, stderr)
	if err != nil {
		return err
	}
	cfg := locust.Config{
		MasterHost: s.o.masterHost,
		MasterPort: s.o.masterPort,
		Users:      s,
		// A stop's whole budget: calls in flight, then the drain.
		StopTimeout: s.o.stopTimeout + s.o.drainTimeout,
		Exceptions:  s.panics,
		Stats:       s.stats,
		Log:         s.log,
	}
	if s.o.locustProtocol == "0.9" {
		err = locust.RunLegacyWorker(ctx, cfg)
	} else {
		err = locust.RunWorker(ctx, cfg)
	}
	s.StopAll()
	s.printBlocks(s.stderr)
	_, total := s.stats.Summary()
	s.log.Info("worker finished", "iterations", total.Requests, "failures", total.Failures, "dropped", s.runner.Dropped())
	rerr := s.writeReport(s.stderr)
	return errors.Join(err, rerr, s.finish())
}
