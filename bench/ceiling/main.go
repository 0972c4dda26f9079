// Command ceiling measures how many plain transfers a Kaia node takes per
// second when the sender costs nothing: every transfer is signed before the
// clock starts, then the raw bytes go to one endpoint as fast as the node
// answers, and the rate is counted from the blocks, not from the answers.
// It is the yardstick klayslave's own send path is compared with.
//
//	KLAYSLAVE_MC_KEY=<funder key> go run ./bench/ceiling -endpoint http://127.0.0.1:8561 -json en.json
//
// It derives -accounts test accounts from the funder key (a fresh run id
// each time), funds them, sends for -duration, counts, and sweeps the
// accounts back, also after Ctrl-C. A second Ctrl-C kills it; the run id it
// logs recovers the funds: klayslave sweep -run <id> -log-dir <dir>.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/klayslave/klayslave/klay"
)

type options struct {
	endpoint    string
	label       string
	accounts    int
	concurrency int
	duration    time.Duration
	rate        int
	gasGkei     float64
	firstN      int
	maxDrain    int
	jsonPath    string
	logDir      string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8561", "JSON-RPC endpoint every transfer goes to (default: the devnet EN)")
	fs.StringVar(&o.label, "label", "", "name of the endpoint in the table and the JSON (default: the endpoint)")
	fs.IntVar(&o.accounts, "accounts", 500, "test accounts, derived from $"+klay.EnvMCKey)
	fs.IntVar(&o.concurrency, "concurrency", 64, "concurrent senders; each owns a share of the accounts")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long to send")
	fs.IntVar(&o.rate, "rate", 3334, "rate bound, tx/s: rate × duration transfers are signed beforehand (the run says so if it sent them all early)")
	fs.Float64Var(&o.gasGkei, "gas-price", 0, "gas price in gkei (0: klay_upperBoundGasPrice, so that a rising base fee never holds a transfer back)")
	fs.IntVar(&o.firstN, "first", 24, "also report the rate over the first this many blocks")
	fs.IntVar(&o.maxDrain, "drain", 10, "after the deadline, follow at most this many blocks until one holds none of the run's transfers")
	fs.StringVar(&o.jsonPath, "json", "", "also write the result as JSON to this file")
	fs.StringVar(&o.logDir, "log-dir", ".", "directory of the state file (as klayslave's -log-dir) that 'klayslave sweep -run' recovers from")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.accounts <= 0, o.concurrency <= 0, o.rate <= 0, o.firstN <= 0, o.maxDrain < 0:
		return o, errors.New("-accounts, -concurrency, -rate and -first must be positive, -drain not negative")
	case o.duration < time.Second:
		return o, errors.New("-duration must be at least 1s")
	case o.gasGkei < 0:
		return o, errors.New("-gas-price must not be negative")
	}
	if o.label == "" {
		o.label = o.endpoint
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ceiling:", oneLine(err.Error()))
		}
		os.Exit(2)
	}
	if err := run(o, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", oneLine(err.Error()))
		os.Exit(1)
	}
}

// Bounds of the phases that run outside the sending window.
const (
	setupTimeout = 5 * time.Minute // funding and signing
	countTimeout = 2 * time.Minute // reading the blocks
	sweepTimeout = 3 * time.Minute
)

// transferValue is what each transfer moves: 1 peb, so that it is a real
// transfer whatever a node thinks of zero-value ones.
var transferValue = big.NewInt(1)

func run(o options, stdout io.Writer, log *slog.Logger) error {
	keyHex := os.Getenv(klay.EnvMCKey)
	if keyHex == "" {
		return fmt.Errorf("set $%s to the funder's private key (it is never printed)", klay.EnvMCKey)
	}
	key, err := klay.ParseKey(keyHex)
	if err != nil {
		return fmt.Errorf("$%s: %w", klay.EnvMCKey, err)
	}

	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // after the first signal a second one kills, as usual
		<-sigCtx.Done()
		stop()
	}()

	c, err := klay.Dial(sigCtx, o.endpoint, o.concurrency+8)
	if err != nil {
		return err
	}
	defer c.Close()
	setupCtx, cancelSetup := context.WithTimeout(sigCtx, setupTimeout)
	defer cancelSetup()
	if err := klay.CheckEndpoint(setupCtx, c, o.label, "-endpoint"); err != nil {
		return err
	}
	chainID, err := c.ChainID(setupCtx)
	if err != nil {
		return fmt.Errorf("chain id from %s: %w", o.endpoint, err)
	}
	gasPrice, err := pickGasPrice(setupCtx, c, o.gasGkei)
	if err != nil {
		return err
	}
	total := o.rate * int(o.duration/time.Second)
	counts := perAccount(total, o.accounts)
	perTx := new(big.Int).Add(new(big.Int).Mul(big.NewInt(klay.TransferGas), gasPrice), transferValue)
	// Enough for every transfer the account may send, plus one spare fee.
	charge := new(big.Int).Mul(perTx, big.NewInt(int64(counts[0]+1)))
	funder := klay.KeyAddress(key)
	if err := klay.CheckFunderBalance(setupCtx, c, o.label, funder, o.accounts, charge); err != nil {
		return err
	}

	res := &result{Label: o.label, Endpoint: o.endpoint, ChainID: chainID.Uint64(), StartedAt: time.Now().UTC(),
		Config: runConfig{Accounts: o.accounts, Concurrency: o.concurrency, DurationSec: o.duration.Seconds(),
			RateBound: o.rate, Presigned: total, GasPriceGkei: gkei(gasPrice), Funder: funder}}
	res.RunID = klay.NewRunID(time.Now())
	log.Info("funding", "run", res.RunID, "accounts", o.accounts, "charge_klay", klay.FormatKLAY(charge), "endpoint", o.endpoint)
	fundStart := time.Now()
	users, err := klay.PrepareUsers(setupCtx, c, key, klay.UsersConfig{Chain: "mc", RunID: res.RunID, Count: o.accounts,
		Charge: charge, LogDir: o.logDir, Fund: klay.FundOptions{Logger: log, Label: o.label}})
	if users == nil {
		return err
	}
	log.Info("state file", "path", users.StateFile, "recover", fmt.Sprintf("klayslave sweep -run %s -log-dir %s", res.RunID, o.logDir))
	res.FundSeconds = time.Since(fundStart).Seconds()
	// From here on the accounts hold funds: every path goes through the sweep.
	runErr := err
	if runErr == nil {
		runErr = measure(sigCtx, setupCtx, c, users, o, counts, chainID, gasPrice, res, log)
	}
	res.Interrupted = sigCtx.Err() != nil
	if res.Send != nil {
		printTable(stdout, res)
	}

	sweepCtx, cancelSweep := context.WithTimeout(context.Background(), sweepTimeout)
	defer cancelSweep()
	log.Info("sweeping", "accounts", len(users.Accounts))
	sw, err := users.Sweep(sweepCtx, klay.SweepOptions{Logger: log})
	res.Sweep = &sweepReport{}
	if sw != nil {
		res.Sweep.Swept, res.Sweep.Empty, res.Sweep.ReturnedKLAY = sw.Swept, sw.Empty, klay.FormatKLAY(sw.Returned)
	}
	if err != nil {
		res.Sweep.Error = oneLine(err.Error())
		runErr = errors.Join(runErr, fmt.Errorf("sweep (recover with klayslave sweep -run %s -log-dir %s): %w", res.RunID, o.logDir, err))
	}
	if o.jsonPath != "" {
		if err := writeJSON(o.jsonPath, res); err != nil {
			runErr = errors.Join(runErr, err)
		}
	}
	if runErr == nil && res.Interrupted {
		runErr = errors.New("interrupted")
	}
	return runErr
}

// measure signs the plan, sends it for o.duration and counts the blocks.
func measure(sigCtx, setupCtx context.Context, c *klay.Client, users *klay.Users, o options, counts []int,
	chainID, gasPrice *big.Int, res *result, log *slog.Logger) error {
	nonces, err := pendingNonces(setupCtx, c, users.Accounts)
	if err != nil {
		return err
	}
	signStart := time.Now()
	p, err := signPlan(setupCtx, users.Accounts, nonces, counts, chainID, users.Funder.Address, transferValue, gasPrice)
	if err != nil {
		return err
	}
	res.SignSeconds = time.Since(signStart).Seconds()
	ours := p.hashes()
	log.Info("signed", "transfers", p.total(), "seconds", fmt.Sprintf("%.1f", res.SignSeconds))
	startHead, err := c.BlockNumber(setupCtx)
	if err != nil {
		return fmt.Errorf("block number from %s: %w", o.endpoint, err)
	}

	start := time.Now()
	sendCtx, cancel := context.WithDeadline(sigCtx, start.Add(o.duration))
	st := newSendStats(start, o.duration)
	sendAll(sendCtx, c, p, o.concurrency, st)
	cancel()
	res.Send = st.report(time.Since(start))
	log.Info("sent", "taken", res.Send.Taken, "tx_per_s", fmt.Sprintf("%.0f", res.Send.TakenTPS), "pool_full_retries", res.Send.PoolFull)

	// Count with a fresh context: after Ctrl-C the blocks up to now still
	// say something, and reading them is bounded.
	countCtx, cancelCount := context.WithTimeout(context.Background(), countTimeout)
	defer cancelCount()
	deadlineHead, err := c.BlockNumber(countCtx)
	if err != nil {
		return fmt.Errorf("block number from %s: %w", o.endpoint, err)
	}
	res.DeadlineBlock = deadlineHead
	var tail []block
	if sigCtx.Err() == nil {
		tail, err = drain(countCtx, c, deadlineHead, ours, o.maxDrain, time.Duration(o.maxDrain)*3*time.Second+5*time.Second)
		if err != nil {
			log.Warn("drain", "err", oneLine(err.Error()))
		}
	}
	bs, err := fetchBlocks(countCtx, c, startHead, deadlineHead, ours)
	if err != nil {
		return err
	}
	counted := trimTail(append(bs[1:], tail...), deadlineHead)
	sum := summarize(bs[0], counted, o.firstN)
	res.Blocks = &sum
	return nil
}

// pickGasPrice returns -gas-price, or the KIP-71 upper bound (the unit price
// before Magma), which the base fee never exceeds: a pre-signed transfer
// must stay valid however the base fee moves under the load.
func pickGasPrice(ctx context.Context, c *klay.Client, flagGkei float64) (*big.Int, error) {
	if flagGkei > 0 {
		gp, _ := new(big.Float).Mul(big.NewFloat(flagGkei), big.NewFloat(1e9)).Int(nil)
		return gp, nil
	}
	var gp hexutil.Big
	if err := c.Call(ctx, &gp, "klay_upperBoundGasPrice"); err != nil {
		return nil, fmt.Errorf("klay_upperBoundGasPrice from %s (give -gas-price instead): %w", c.URL(), err)
	}
	if gp.ToInt().Sign() <= 0 {
		return nil, fmt.Errorf("klay_upperBoundGasPrice from %s is %s; give -gas-price", c.URL(), gp.ToInt())
	}
	return gp.ToInt(), nil
}

func gkei(peb *big.Int) float64 {
	f, _ := new(big.Float).Quo(new(big.Float).SetInt(peb), big.NewFloat(1e9)).Float64()
	return f
}

// oneLine keeps a message on one line, whatever a node put in it.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
