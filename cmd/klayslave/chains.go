package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/report"
	"github.com/klayslave/klayslave/tc"
)

// side is one chain of a run: its client, funder and funded test accounts.
type side struct {
	label   string // "main chain"
	short   string // "mc", in state file names
	keys    klay.KeySource
	url     string
	urlFlag string
	users   int
	// feePayers are funded beside the users when a case sends
	// fee-delegated transactions (tc.Chain.FeePayers).
	feePayers int
	chainID   *big.Int // expected, from -mcChainId; nil: any

	wsURL  string // new heads; "" derives it from url
	client *klay.Client
	funder *klay.Account
	run    *klay.Users // this run's test accounts, once derived
	chain  *tc.Chain
	// scanner follows the chain's blocks from before funding to after the
	// sweep: every wait for a transaction goes through it.
	scanner *klay.Scanner
	lanes   atomic.Pointer[klay.Lanes] // set once the accounts are funded
	blocks  klay.BlockTally            // the load's blocks, from the scanner
	logDir  string                     // -log-dir, where `klayslave sweep` finds the state file
	// onBlock, once set, observes every scanned block (-metrics-addr).
	onBlock atomic.Pointer[func(klay.BlockStats)]
}

// sides returns the chains the flags describe; a chain with no test
// accounts (-numScUser 0) is left out.
func sides(o *options) []*side {
	all := []*side{
		{label: "main chain", short: "mc", keys: klay.MainChainKeySource(o.mcKey, o.mcKeyFile), url: o.mcEndpoint,
			urlFlag: "-mcEndpoint", users: o.numMcUser, chainID: optionalID(o.mcChainID), wsURL: o.mcWsEndpoint},
		{label: "service chain", short: "sc", keys: klay.ServiceChainKeySource(o.scKey, o.scKeyFile), url: o.scEndpoint,
			urlFlag: "-scEndpoint", users: o.numScUser, chainID: optionalID(o.scChainID), wsURL: o.scWsEndpoint},
	}
	var out []*side
	for _, s := range all {
		if s.users > 0 {
			out = append(out, s)
		}
	}
	return out
}

func optionalID(id uint64) *big.Int {
	if id == 0 {
		return nil
	}
	return new(big.Int).SetUint64(id)
}

// connect loads the side's funder key, dials the node and runs every
// pre-flight check. Errors are *klay.PreflightError where the user can fix
// them.
func (s *side) connect(ctx context.Context, charge *big.Int, pool int) error {
	key, err := s.keys.Load()
	if err != nil {
		return err
	}
	s.client, err = klay.Dial(ctx, s.url, pool)
	if err != nil {
		return &klay.PreflightError{Check: klay.CheckReachable, Target: s.url, Err: err,
			Msg: fmt.Sprintf("%s endpoint: %v; fix %s", s.label, err, s.urlFlag)}
	}
	s.funder = klay.NewAccount(key, s.client)
	return klay.Preflight(ctx, s.client, klay.PreflightConfig{
		Label: s.label, URLFlag: s.urlFlag, Funder: s.funder.Address,
		Users: s.users + s.feePayers, Charge: charge, ExpectedChainID: s.chainID,
	})
}

// scan starts the chain's block scanner, under ctx, before anything is
// sent: funding, set-up, the load and the sweep all wait through it. rep
// (nil: no -report-dir) records the blocks.
func (s *side) scan(ctx context.Context, o *options, log *slog.Logger, rep *report.Recorder) {
	ws := s.wsURL
	if ws == "" {
		ws = klay.WSEndpointFor(s.url)
	}
	s.scanner = klay.NewScanner(klay.ScannerConfig{
		Client: s.client, WSURL: ws, Timeout: o.inclusionBlks, Log: log.With("chain", s.label),
		OnBlock: func(b klay.BlockStats) {
			s.blocks.Add(b)
			rep.Block(report.Block{Chain: s.label, Number: b.Number, Time: b.Time, IntervalMs: float64(b.Interval) / 1e6,
				Ours: b.Ours, Txs: b.Txs, Gas: b.GasUsed})
			if f := s.onBlock.Load(); f != nil {
				(*f)(b)
			}
			if l := s.lanes.Load(); l != nil {
				l.OnBlock(ctx, b.Number)
			}
		},
	})
	go s.scanner.Run(ctx)
}

// fund derives this run's test accounts, records them in a state file (so
// `klayslave sweep -run` finds a crashed run's accounts) and funds them.
func (s *side) fund(ctx context.Context, runID, logDir string, charge *big.Int, progress io.Writer, log *slog.Logger) error {
	u, err := klay.PrepareUsers(ctx, s.client, s.funder.PrivateKey(), klay.UsersConfig{
		Chain: s.short, RunID: runID, Count: s.users + s.feePayers, Charge: charge, LogDir: logDir,
		Fund: klay.FundOptions{Progress: progress, Label: s.label, Logger: log, Waiter: s.scanner},
	})
	if u != nil {
		s.run, s.logDir = u, logDir // even half-funded accounts must be swept
	}
	if err != nil {
		return fmt.Errorf("funding %d test accounts on the %s: %w", s.users, s.label, err)
	}
	log.Info("funded test accounts", "chain", s.label, "accounts", u.Funding.Accounts, "KLAY each", klay.FormatKLAY(charge),
		"elapsed", u.Funding.Elapsed.Round(time.Millisecond), "funder", s.funder.Address.Hex())
	s.chain = &tc.Chain{Name: map[string]string{"mc": "main", "sc": "service"}[s.short], Client: s.client,
		ChainID: new(big.Int).SetUint64(u.State.ChainID), Funder: s.funder, Accounts: u.Accounts[:s.users], Waiter: s.scanner}
	if s.feePayers > 0 {
		s.chain.FeePayers = u.Accounts[s.users:]
	}
	return nil
}

// track starts the lanes that send the test accounts' transactions; the
// scanner tells them each block.
func (s *side) track(o *options, log *slog.Logger) error {
	lanes, err := klay.NewLanes(klay.LanesConfig{
		Client: s.client, Tracker: s.scanner, Accounts: s.chain.Accounts, MaxPending: maxPending(o.maxPending, len(s.chain.Accounts)),
		Fill: klay.SelfTransfer(s.chain.ChainID, klay.NewGasPricer(s.client, nil, 2*time.Second)), Log: log,
	})
	if err != nil {
		return err
	}
	s.chain.Lanes = lanes
	s.lanes.Store(lanes)
	return nil
}

// sweep returns the test accounts' balances to the funder; when nothing is
// left behind it also removes the state file.
func (s *side) sweep(ctx context.Context, progress io.Writer, log *slog.Logger) error {
	res, err := s.run.Sweep(ctx, klay.SweepOptions{Progress: progress, Label: s.label, Logger: log, Waiter: s.scanner})
	if err != nil {
		// No "swept" line here: its zeros would contradict the error, which
		// is the one line the user needs, with the command to run later.
		id, hint := s.run.State.RunID, ""
		if s.logDir != "." {
			hint = " -log-dir " + s.logDir
		}
		return fmt.Errorf("sweeping the %s test accounts of run %s: %w (retry with 'klayslave sweep -run %s%s')", s.label, id, err, id, hint)
	}
	if res != nil {
		logSweep(log, s.label, s.funder.Address.Hex(), res)
	}
	return nil
}

func logSweep(log *slog.Logger, label, funder string, res *klay.SweepResult) {
	log.Info("swept test accounts", "chain", label, "accounts", res.Swept, "returned KLAY", klay.FormatKLAY(res.Returned),
		"fees KLAY", klay.FormatKLAY(res.Fees), "left KLAY", klay.FormatKLAY(res.Left), "funder", funder)
}

// chainSetup connects to both chains, checks them, starts their block
// scanners under scanCtx, and funds the test accounts of a new run, both
// chains at once; with feePayers, as many fee-payer accounts again.
func chainSetup(ctx, scanCtx context.Context, o *options, runID string, pool int, feePayers bool, progress io.Writer, log *slog.Logger, rep *report.Recorder) ([]*side, error) {
	charge, err := klay.ParseKLAY(o.charge)
	if err != nil {
		return nil, usagef("-charge: %v; give KLAY per test account, e.g. -charge 10", err)
	}
	ss := sides(o)
	for _, s := range ss {
		if feePayers {
			s.feePayers = s.users
		}
		if err := s.connect(ctx, charge, pool); err != nil {
			return nil, err
		}
	}
	for _, s := range ss {
		s.scan(scanCtx, o, log, rep)
	}
	errs := make([]error, len(ss))
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.fund(ctx, runID, o.logDir, charge, progress, log)
		}()
	}
	wg.Wait()
	return ss, errors.Join(errs...)
}

// sweepAll sweeps every side that has test accounts. It runs after the load
// has stopped, also after Ctrl-C, so it takes a context of its own; the
// scanners still run.
func sweepAll(ss []*side, progress io.Writer, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	for _, s := range ss {
		if s.run != nil {
			errs = append(errs, s.sweep(ctx, progress, log))
		}
	}
	return errors.Join(errs...)
}

// logFile opens <log-dir>/klayslave-<funder address>.log: named by address,
// never by key (the seed used slave-<private key>.log).
func logFile(o *options, funder *ecdsa.PrivateKey) (*os.File, error) {
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return nil, err
	}
	name := filepath.Join(o.logDir, "klayslave-"+klay.KeyAddress(funder).Hex()+".log")
	return os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// A default Kaia pool (blockchain.DefaultTxPoolConfig) holds 4,096
// executable transactions (txpool.exec-slots.all) and 5,120 in all; over
// 4,096 it evicts the newest transactions of the accounts that have more
// than the 16 it guarantees each (txpool.exec-slots.account), and over
// 5,120 it refuses sends ("txpool is full").
const (
	poolExecSlots    = 4096
	poolAccountSlots = 16
	// poolInFlight is what the accounts may have in flight when none has
	// more than poolAccountSlots: under the pool's 5,120, with room for
	// the funder's and other senders' transactions.
	poolInFlight = 4800
)

// maxPending is -max-pending-per-account, or when it is 0 as many as a
// default pool keeps without evicting or refusing any. Up to 256 accounts
// that is 4,096 / accounts (at most 64): more than 16 each, all pending
// fit in the executable slots. From 256 accounts on it is 16 or fewer each,
// which the pool never evicts, up to 4,800 in all. On the devnet, 200
// users with 300 accounts × 16 put 1,780 tx/s on chain where 200 accounts
// × 20 put 1,497 (45 s runs); 24 each for 200 accounts lost a quarter of
// the rate to eviction, and 64 each to refusals.
func maxPending(flag, accounts int) int {
	if flag > 0 {
		return flag
	}
	accounts = max(accounts, 1)
	if accounts*poolAccountSlots <= poolExecSlots {
		return min(64, poolExecSlots/accounts)
	}
	return max(1, min(poolAccountSlots, poolInFlight/accounts))
}
