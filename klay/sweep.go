package klay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// SweepOptions tunes Sweep. The zero value is usable.
type SweepOptions struct {
	Concurrency int      // default 32
	GasPrice    *big.Int // nil: klay_gasPrice
	// SettleTimeout is how long to wait for the accounts' pending
	// transactions to be mined before reading balances (default 10 s).
	SettleTimeout  time.Duration
	ReceiptTimeout time.Duration // default 60 s
	MaxRounds      int           // default 3
	Progress       io.Writer     // a bar on a terminal, else a line every few seconds; nil: none
	Label          string
	Logger         *slog.Logger
	// Waiter follows the transfers to their blocks: the chain's block
	// scanner, running. Nil starts a scanner for the call.
	Waiter Waiter
}

// SweepResult reports a Sweep call.
type SweepResult struct {
	Swept    int      // accounts whose sweep transfer was mined
	Empty    int      // accounts holding no more than the transfer fee
	Returned *big.Int // value received by the funder, peb
	Fees     *big.Int // fees of the sweep transfers (from receipts), peb
	Left     *big.Int // total still held by the accounts afterwards, peb
	Receipts []*Receipt
	Elapsed  time.Duration
}

// Sweep sends every account's balance minus the transfer fee
// (TransferGas × gas price) back to `to`, in parallel. Use a fresh context:
// it also runs after SIGINT. After the Kaia hard fork a legacy transfer pays
// exactly its gas price, so nothing but the fee is lost.
func Sweep(ctx context.Context, c *Client, to common.Address, accs []*Account, opts SweepOptions) (*SweepResult, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.SettleTimeout <= 0 {
		opts.SettleTimeout = 10 * time.Second
	}
	if opts.MaxRounds <= 0 {
		opts.MaxRounds = 3
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	res := &SweepResult{Returned: new(big.Int), Fees: new(big.Int), Left: new(big.Int)}
	if len(accs) == 0 {
		return res, nil
	}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("sweep to %s: chain id from %s: %w", to.Hex(), c.URL(), err)
	}
	w, stop := withWaiter(ctx, c, opts.Waiter, opts.Logger)
	defer stop()
	// A node that does not answer fails the sweep at once, in one line:
	// waiting out the settle window first only delays the hint to run
	// `klayslave sweep -run` later.
	if err := settle(ctx, c, w, accs, opts.SettleTimeout); err != nil {
		return res, fmt.Errorf("sweep: pending nonces from %s: %w", c.URL(), err)
	}
	bar := newBar(opts.Progress, len(accs), "sweeping "+opts.Label, opts.Logger)
	defer bar.Finish()

	todo := accs
	swept := map[common.Address]bool{}
	for round := 1; len(todo) > 0 && round <= opts.MaxRounds; round++ {
		gp := opts.GasPrice
		if gp == nil {
			if gp, err = c.GasPrice(ctx); err != nil {
				return res, fmt.Errorf("sweep: gas price from %s: %w", c.URL(), err)
			}
		}
		fee := new(big.Int).Mul(big.NewInt(TransferGas), gp)
		bals, err := c.BalancesAt(ctx, Addresses(todo))
		if err != nil {
			return res, fmt.Errorf("sweep: balances from %s: %w", c.URL(), err)
		}
		var send []*Account
		var values []*big.Int
		for i, a := range todo {
			if bals[i].Cmp(fee) <= 0 {
				if !swept[a.Address] {
					res.Empty++
				}
				_ = bar.Add(1)
				continue
			}
			send = append(send, a)
			values = append(values, new(big.Int).Sub(bals[i], fee))
		}
		retry := sweepRound(ctx, c, w, chainID, gp, to, send, values, opts, res, bar, swept)
		opts.Logger.Info("sweep round", "chain", opts.Label, "round", round, "sent", len(send), "retry", len(retry))
		todo = retry
		if ctx.Err() != nil {
			break
		}
	}
	res.Elapsed = time.Since(start)
	left, err := c.BalancesAt(ctx, Addresses(accs))
	if err != nil {
		return res, fmt.Errorf("sweep: balances after sweep: %w", err)
	}
	for _, b := range left {
		res.Left.Add(res.Left, b)
	}
	if len(todo) > 0 {
		return res, fmt.Errorf("sweep to %s on %s: %d accounts not swept (first %s)", to.Hex(), c.URL(), len(todo), todo[0].Address.Hex())
	}
	return res, ctx.Err()
}

// sweepRound sends one transfer per account and waits for their blocks. It
// returns the accounts to try again.
func sweepRound(ctx context.Context, c *Client, w Waiter, chainID, gp *big.Int, to common.Address, accs []*Account, values []*big.Int,
	opts SweepOptions, res *SweepResult, bar interface{ Add(int) error }, swept map[common.Address]bool) []*Account {
	set := newAwaitSet(c, w)
	var mu sync.Mutex // guards retry while sending
	var retry []*Account
	parallel(ctx, len(accs), opts.Concurrency, func(i int) {
		a := accs[i]
		tx, err := set.send(ctx, a, i, func(nonce uint64) (*types.Transaction, error) {
			return a.SignTransfer(chainID, nonce, to, values[i], gp)
		})
		if tx != nil {
			return
		}
		opts.Logger.Warn("sweep send failed", "chain", opts.Label, "account", a.Address.Hex(), "err", err)
		mu.Lock()
		retry = append(retry, a)
		mu.Unlock()
	})
	set.wait(ctx, opts.ReceiptTimeout, func(o outcome) {
		a, r := accs[o.a.index], o.inc.Receipt
		if o.inc.Err == nil && r != nil {
			res.Fees.Add(res.Fees, r.Fee())
			res.Receipts = append(res.Receipts, r)
		}
		if o.inc.Err == nil && r != nil && r.Status == 1 {
			res.Swept++
			swept[a.Address] = true
			res.Returned.Add(res.Returned, o.a.tx.Value())
			_ = bar.Add(1)
			return
		}
		a.Nonce.Invalidate()
		retry = append(retry, a)
	})
	return retry
}

// settle waits until no account has transactions pending in the pool (its
// pending nonce equals its mined nonce), or until timeout: they would take
// the nonces of the sweep. It looks again at each new block. It returns the
// error of a failed call: the node cannot be swept through then.
func settle(ctx context.Context, c *Client, w Waiter, accs []*Account, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		pending := make([]hexutil.Uint64, len(accs))
		mined := make([]hexutil.Uint64, len(accs))
		elems := make([]rpc.BatchElem, 0, 2*len(accs))
		for i, a := range accs {
			elems = append(elems,
				rpc.BatchElem{Method: "klay_getTransactionCount", Args: []interface{}{a.Address, "pending"}, Result: &pending[i]},
				rpc.BatchElem{Method: "klay_getTransactionCount", Args: []interface{}{a.Address, "latest"}, Result: &mined[i]})
		}
		// A node that does not answer within the whole window fails the
		// sweep here: going on would only wait on it again, call by call.
		if err := c.BatchCall(sctx, elems); err != nil {
			return err
		}
		busy := false
		for i := range accs {
			if pending[i] != mined[i] {
				busy = true
				break
			}
		}
		if !busy {
			return nil
		}
		if w.WaitHead(sctx, w.Head()+1) != nil {
			return nil
		}
	}
}
