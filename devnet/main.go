// Command devnet brings up a local Kaia network on 127.0.0.1: a main chain
// (one CN and one EN hosting the main-bridge) and a service chain (one SCN
// hosting the sub-bridge), with one bridge pair deployed and ready for KLAY
// value transfers.
//
//	devnet build               build kcn, ken, kscn and homi into the cache
//	devnet up [--fresh]        build, generate genesis, start, set up the bridge
//	devnet down                stop the processes that up started (by PID file)
//	devnet status              block numbers and bridge peer status
//	devnet env [--json]        print the network description
//
// All dev keys it prints are well known and insecure: local use only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

const usageText = `usage: devnet <command> [flags]

commands:
  build            build kcn, ken, kscn and homi (skipped when cached)
  up [--fresh]     start main chain + service chain + bridge (idempotent)
  down [--prune-bridges]
                   stop the processes started by up (by PID file)
  status           print block numbers and bridge peer status
  env [--json]     print the network description (env file, or JSON)

flags:
`

// config holds everything a command needs; it is built once by run.
type config struct {
	dir        string
	binDir     string
	portOffset int
	fresh      bool
	prune      bool
	jsonOut    bool
	stdout     io.Writer
	stderr     io.Writer
}

// usageError marks errors caused by bad command-line usage (exit code 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, runs one command and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, cmd, err := parseArgs(args, stdout, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "devnet: %v (run 'devnet -h' for usage)\n", err)
		return exitUsage
	}
	switch cmd {
	case "build":
		err = ensureBinaries(ctx, cfg.binDir, cfg.stdout)
	case "up":
		err = up(ctx, cfg)
	case "down":
		err = down(ctx, cfg)
	case "status":
		err = status(ctx, cfg)
	case "env":
		err = printEnv(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "devnet: %v\n", err)
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFailure
	}
	return exitOK
}

// parseArgs accepts flags before and after the command name.
func parseArgs(args []string, stdout, stderr io.Writer) (config, string, error) {
	cfg := config{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.dir, "dir", "/tmp/klayslave-devnet", "data directory (genesis, node data, logs, PID files, network.json)")
	fs.StringVar(&cfg.binDir, "bin", "", "directory of the kcn/ken/kscn/homi binaries (default $KLAYSLAVE_KAIA_BIN or $HOME/.cache/klayslave/kaia-"+kaiaVersion+"-<go version>/bin)")
	fs.IntVar(&cfg.portOffset, "port-offset", 0, "added to every port, to run a second network beside the default one")
	fs.BoolVar(&cfg.fresh, "fresh", false, "up: wipe the data directory and start again")
	fs.BoolVar(&cfg.prune, "prune-bridges", false, "down: first deregister every bridge pair but the devnet's own from the sub-bridge (tests deploy dozens; at its next start Kaia v1.0.3's sub-bridge restores each one while holding its bridge lock, and can deadlock doing so)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "env: print network.json instead of the env file")

	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return cfg, "", usageError{"missing command"}
	}
	cmd := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return cfg, "", err
	}
	if fs.NArg() > 0 {
		return cfg, "", usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	switch cmd {
	case "build", "up", "down", "status", "env":
	default:
		return cfg, "", usageError{fmt.Sprintf("unknown command %q", cmd)}
	}
	if cfg.portOffset < 0 || cfg.portOffset > 10000 {
		return cfg, "", usageError{fmt.Sprintf("--port-offset %d out of range 0..10000", cfg.portOffset)}
	}
	if cfg.dir == "" {
		return cfg, "", usageError{"--dir must not be empty"}
	}
	if cfg.binDir == "" {
		cfg.binDir = defaultBinDir()
	}
	return cfg, cmd, nil
}
