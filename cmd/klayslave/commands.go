package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/report"
)

// check runs only the pre-flight checks of both chains: reachable,
// namespaces, chain id, new blocks, funder key and balance.
func check(ctx context.Context, args []string, stdout io.Writer) error {
	o := &options{}
	if err := parseFlags(newFlagSet("klayslave check", o, false), args, o); err != nil {
		return err
	}
	charge, err := klay.ParseKLAY(o.charge)
	if err != nil {
		return usagef("-charge: %v", err)
	}
	for _, s := range sides(o) {
		if err := s.connect(ctx, charge, 4); err != nil {
			return err
		}
		id, _ := s.client.ChainID(ctx)
		head, _ := s.client.BlockNumber(ctx)
		bal, _ := s.client.BalanceAt(ctx, s.funder.Address, nil)
		fmt.Fprintf(stdout, "%-13s %s ok: chain id %v, block #%d, funder %s holds %s KLAY (enough for %d users × %s KLAY)\n",
			s.label, s.url, id, head, s.funder.Address.Hex(), klay.FormatKLAY(bal), s.users, o.charge)
	}
	return nil
}

// sweep recovers the funds of a run that did not sweep (a crash, or
// -no-sweep): it finds the run's state files, derives the accounts again
// from the funder keys and returns their balances.
func sweep(ctx context.Context, args []string, stderr io.Writer) error {
	o := &options{}
	if err := parseFlags(newFlagSet("klayslave sweep", o, false), args, o); err != nil {
		return err
	}
	if o.runID == "" {
		return usagef("sweep needs -run <id>; the ids are in the state files under %s", klay.StateDir(o.logDir))
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	key := func(st klay.RunState) (*ecdsa.PrivateKey, error) {
		if s := sideFor(o, st.Chain); s != nil {
			return s.keys.Load()
		}
		return nil, fmt.Errorf("unknown chain %q", st.Chain)
	}
	dial := func(ctx context.Context, st klay.RunState) (*klay.Client, error) {
		url := st.Endpoint // where the run was, unless the flag says otherwise
		if s := sideFor(o, st.Chain); s != nil && o.set[s.urlFlag[1:]] {
			url = s.url
		}
		return klay.Dial(ctx, url, 32)
	}
	results, err := klay.SweepRun(ctx, o.logDir, o.runID, key, dial, klay.SweepOptions{Progress: stderr, Logger: log})
	for _, res := range results {
		logSweep(log, "run "+o.runID, "", res)
	}
	if errors.Is(err, klay.ErrNoRunState) {
		return usagef("no state file for run %s under %s; check -run and -log-dir", o.runID, klay.StateDir(o.logDir))
	}
	return err
}

// sideFor returns the side of a chain short name ("mc", "sc"), whatever
// its -num*User.
func sideFor(o *options, short string) *side {
	all := *o
	all.numMcUser, all.numScUser = 1, 1
	for _, s := range sides(&all) {
		if s.short == short {
			return s
		}
	}
	return nil
}

const reportUsage = `usage: klayslave report merge -o DIR a.json b.json ...
  merges several workers' report.json files (written by -report-dir) into
  one: counts add, latency histograms merge, blocks count once per chain.
  DIR gets the merged report.json, report.html and Locust-format CSVs.`

// reportCommand runs `klayslave report merge`.
func reportCommand(args []string, stdout io.Writer) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintln(stdout, reportUsage)
		return nil
	}
	if len(args) == 0 || args[0] != "merge" {
		return usagef("report needs a subcommand: klayslave report merge -o DIR a.json b.json ...")
	}
	fs := flag.NewFlagSet("klayslave report merge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "directory for the merged report")
	// Flags may come after the files too: parse what is left after each file.
	var files []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(stdout, reportUsage)
				return nil
			}
			return usagef("%v; run 'klayslave report -h'", err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if *out == "" {
		return usagef("report merge needs -o DIR, the directory for the merged report")
	}
	if len(files) == 0 {
		return usagef("report merge needs the report.json files to merge, e.g. -o merged w1/report.json w2/report.json")
	}
	var reps []report.Report
	for _, f := range files {
		r, err := report.Read(f)
		if err != nil {
			return usagef("%v", err)
		}
		reps = append(reps, r)
	}
	m, err := report.Merge(reps...)
	if err != nil {
		return usagef("merging: %v", err)
	}
	paths, err := report.WriteDir(*out, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d reports (%d workers): %d iterations, %d failures\nReport: %s (%s and Locust-format CSVs beside it)\n",
		len(reps), m.Workers, m.Total.Requests, m.Total.Failures, paths[0], report.JSONFile)
	return nil
}
