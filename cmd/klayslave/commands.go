package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/klayslave/klayslave/klay"
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
