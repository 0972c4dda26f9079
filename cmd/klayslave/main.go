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
	"strings"
	"syscall"
	"time"

	"github.com/klayslave/klayslave/locust"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

const usageText = `usage:
  klayslave [flags]          join a Locust master as a worker (the seed's usage)
  klayslave run [flags]      run standalone: no master, live table, final report
  klayslave list             list the test cases
  klayslave <command> -h     show the flags of a command`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
	case "help":
		fmt.Fprintln(stdout, usageText)
	default:
		err = usagef("unknown command %q; commands are: run, list (or none, to join a Locust master)", cmd)
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		printHelp(stdout, cmd)
		return 0
	case errors.As(err, &ue):
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
	fmt.Fprintln(w, "\nflags:")
	var o options
	fs := newFlagSet(cmd, &o, cmd == "run")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func list(w io.Writer) error {
	for _, c := range tc.Builtin().All() {
		fmt.Fprintf(w, "%-28s %s\n", c.Name, c.Description)
	}
	return nil
}

// prepare parses the flags shared by worker and standalone mode and builds
// the runner and its stats collector.
func prepare(ctx context.Context, name string, args []string, standalone bool, stderr io.Writer) (*options, *runner.Runner, *stats.Collector, *slog.Logger, error) {
	o := &options{}
	fs := newFlagSet(name, o, standalone)
	if err := parseFlags(fs, args, o); err != nil {
		return nil, nil, nil, nil, err
	}
	if o.tc == "" {
		return nil, nil, nil, nil, usagef("-tc is required; for example -tc=rpcPing (see 'klayslave list')")
	}
	cases, err := tc.Builtin().Parse(o.tc)
	if err != nil {
		return nil, nil, nil, nil, usageError{err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	env := &tc.Env{
		MCEndpoint: o.mcEndpoint,
		SCEndpoint: o.scEndpoint,
		HTTP:       &http.Client{Transport: pooledTransport(max(o.users, o.numMcUser+o.numScUser, 100)), Timeout: 30 * time.Second},
		Log:        log,
	}
	var tasks []runner.Task
	for _, c := range cases {
		t, err := c.New(ctx, env)
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("preparing %s: %w", c.Name, err)
		}
		tasks = append(tasks, runner.Task{Name: c.Name, Weight: c.Weight, Task: t})
	}
	col := stats.NewCollector(nil)
	r := runner.New(runner.Config{Tasks: tasks, Recorder: col, MaxRPS: o.maxRPS, Ramp: o.ramp})
	return o, r, col, log, nil
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
	o, r, col, log, err := prepare(ctx, "klayslave", args, false, stderr)
	if err != nil {
		return err
	}
	cfg := locust.Config{
		MasterHost: o.masterHost,
		MasterPort: o.masterPort,
		Users:      r,
		Stats:      col,
		Log:        log,
	}
	if o.locustProtocol == "0.9" {
		err = locust.RunLegacyWorker(ctx, cfg)
	} else {
		err = locust.RunWorker(ctx, cfg)
	}
	r.StopAll()
	_, total := col.Summary()
	log.Info("worker finished", "sent", total.Requests, "failures", total.Failures)
	return err
}
