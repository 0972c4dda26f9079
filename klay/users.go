package klay

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"time"
)

// UsersConfig describes one chain's test accounts for a run.
type UsersConfig struct {
	Chain  string   // "mc" or "sc"; part of the state file name
	RunID  string   // from NewRunID, or -run
	Worker int      // worker index; workers sharing a funder get disjoint accounts
	Count  int      // number of users
	Charge *big.Int // peb each account is funded with
	LogDir string   // the state file goes to StateDir(LogDir)
	Fund   FundOptions
}

// Users is one chain's funded test accounts.
type Users struct {
	Client    *Client
	Funder    *Account
	Accounts  []*Account
	State     RunState
	StateFile string
	Funding   *FundResult
}

// PrepareUsers derives the run's accounts from the funder key, records them
// in a state file (before any transfer, so that a crash mid-funding can be
// swept), and funds them.
func PrepareUsers(ctx context.Context, c *Client, funderKey *ecdsa.PrivateKey, cfg UsersConfig) (*Users, error) {
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("chain id from %s: %w", c.URL(), err)
	}
	funder := NewAccount(funderKey, c)
	accs, err := DeriveAccounts(funderKey, cfg.RunID, cfg.Worker, cfg.Count, c)
	if err != nil {
		return nil, err
	}
	st := RunState{RunID: cfg.RunID, Funder: funder.Address, Chain: cfg.Chain, ChainID: chainID.Uint64(),
		Endpoint: c.URL(), Worker: cfg.Worker, Count: cfg.Count, CreatedAt: time.Now().UTC()}
	path, err := WriteRunState(StateDir(cfg.LogDir), st)
	if err != nil {
		return nil, fmt.Errorf("write run state: %w", err)
	}
	u := &Users{Client: c, Funder: funder, Accounts: accs, State: st, StateFile: path}
	if cfg.Fund.Label == "" {
		cfg.Fund.Label = cfg.Chain
	}
	u.Funding, err = Fund(ctx, c, funder, Addresses(accs), cfg.Charge, cfg.Fund)
	return u, err
}

// Sweep returns the accounts' balances to the funder and, when every
// account was swept, removes the state file.
func (u *Users) Sweep(ctx context.Context, opts SweepOptions) (*SweepResult, error) {
	if opts.Label == "" {
		opts.Label = u.State.Chain
	}
	res, err := Sweep(ctx, u.Client, u.Funder.Address, u.Accounts, opts)
	if err != nil {
		return res, err
	}
	return res, RemoveRunState(u.StateDir(), u.State)
}

// StateDir is the directory of the users' state file.
func (u *Users) StateDir() string {
	if u.StateFile == "" {
		return ""
	}
	return filepath.Dir(u.StateFile)
}

// maxKeyUpdates bounds how many account updates of one account a
// recovery follows (one per block at most: 18 hours of 1-second blocks).
const maxKeyUpdates = 1 << 16

// ErrNoRunState is returned by SweepRun when no state file names the run.
var ErrNoRunState = errors.New("no state file for this run")

// SweepRun recovers a run (`klayslave sweep -run <id>`): for every state file
// of runID under StateDir(logDir), it asks key for the funder key of the
// state's chain ("mc", "sc"), dials the recorded endpoint through dial,
// derives the accounts again, sweeps them, and removes the state file when
// the sweep is complete. It goes on with the other files when one fails and
// returns the errors joined.
func SweepRun(ctx context.Context, logDir, runID string,
	key func(st RunState) (*ecdsa.PrivateKey, error),
	dial func(ctx context.Context, st RunState) (*Client, error),
	opts SweepOptions) ([]*SweepResult, error) {
	dir := StateDir(logDir)
	states, err := FindRunStates(dir, runID)
	if err != nil {
		return nil, err
	}
	if len(states) == 0 {
		return nil, fmt.Errorf("%w: run %s in %s", ErrNoRunState, runID, dir)
	}
	var results []*SweepResult
	var errs []error
	for _, st := range states {
		res, err := sweepState(ctx, dir, st, key, dial, opts)
		if res != nil {
			results = append(results, res)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("run %s, %s chain, worker %d: %w", st.RunID, st.Chain, st.Worker, err))
		}
	}
	return results, errors.Join(errs...)
}

func sweepState(ctx context.Context, dir string, st RunState,
	key func(RunState) (*ecdsa.PrivateKey, error),
	dial func(context.Context, RunState) (*Client, error),
	opts SweepOptions) (*SweepResult, error) {
	k, err := key(st)
	if err != nil {
		return nil, err
	}
	c, err := dial(ctx, st)
	if err != nil {
		return nil, err
	}
	if id, err := c.ChainID(ctx); err != nil {
		return nil, err
	} else if id.Uint64() != st.ChainID {
		return nil, fmt.Errorf("endpoint %s serves chain id %s, the run used %d", c.URL(), id, st.ChainID)
	}
	accs, err := st.Accounts(k, c)
	if err != nil {
		return nil, err
	}
	// An account update (newAccountUpdateTC) moved some accounts to keys
	// derived from their own: find the one each signs with now.
	for _, a := range accs {
		nk, err := RecoverKey(ctx, c, a.PrivateKey(), maxKeyUpdates)
		if err != nil {
			return nil, err
		}
		if nk != a.PrivateKey() {
			a.SetKey(nk)
		}
	}
	if opts.Label == "" {
		opts.Label = st.Chain
	}
	// Each state file has its own endpoint: Sweep runs a scanner of c.
	opts.Waiter = nil
	res, err := Sweep(ctx, c, st.Funder, accs, opts)
	if err != nil {
		return res, err
	}
	return res, RemoveRunState(dir, st)
}
