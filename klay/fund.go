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
)

// FundOptions tunes Fund. The zero value is usable.
type FundOptions struct {
	// Concurrency is the number of transfers sent at once (default 32).
	Concurrency int
	// GasPrice overrides klay_gasPrice (nil: ask the node).
	GasPrice *big.Int
	// Progress receives a progress bar (accounts funded, rate, ETA) when
	// it is a terminal, else a line every few seconds (through Logger when
	// it logs); nil shows nothing. Use os.Stderr.
	Progress io.Writer
	// Label prefixes the progress bar and log lines, e.g. "main chain".
	Label string
	// Logger gets one line per round; nil is silent.
	Logger *slog.Logger
	// ReceiptTimeout is how long a round waits for its transfers' blocks
	// before what is missing is sent again (default 60 s).
	ReceiptTimeout time.Duration
	// Waiter follows the transfers to their blocks: the chain's block
	// scanner, running. Nil starts a scanner for the call.
	Waiter Waiter
	// MaxRounds bounds the send-and-wait rounds (default 5).
	MaxRounds int
}

func (o *FundOptions) defaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.MaxRounds <= 0 {
		o.MaxRounds = 5
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// FundResult reports a Fund call.
type FundResult struct {
	Accounts  int      // recipients holding at least the amount at the end
	Transfers int      // transfers mined with status 1
	Value     *big.Int // value of the mined transfers, peb
	Fees      *big.Int // fees of every mined transfer (gasUsed × effective price), peb
	Receipts  []*Receipt
	Elapsed   time.Duration
}

// Fund makes every recipient hold at least amount, sending the difference
// from funder. Transfers go out Concurrency at a time with locally assigned
// nonces, so several workers can share the funder's key; nonce clashes and
// a full pool are retried, never fatal. It then waits for every receipt,
// sends again what was lost, and checks the balances on chain.
func Fund(ctx context.Context, c *Client, funder *Account, to []common.Address, amount *big.Int, opts FundOptions) (*FundResult, error) {
	opts.defaults()
	start := time.Now()
	res := &FundResult{Value: new(big.Int), Fees: new(big.Int)}
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("fund from %s: chain id: %w", funder.Address.Hex(), err)
	}
	w, stop := withWaiter(ctx, c, opts.Waiter, opts.Logger)
	defer stop()
	price := NewGasPricer(c, opts.GasPrice, 0)
	bar := newBar(opts.Progress, len(to), "funding "+opts.Label, opts.Logger)
	defer bar.Finish()

	todo, needs, err := shortfalls(ctx, c, to, amount)
	if err != nil {
		return nil, err
	}
	_ = bar.Add(len(to) - len(todo))
	var lastErr error
	for round := 1; len(todo) > 0 && round <= opts.MaxRounds; round++ {
		r := fundRound(ctx, c, w, funder, chainID, price, to, todo, needs, opts, bar)
		res.Transfers += r.mined
		res.Value.Add(res.Value, r.value)
		res.Fees.Add(res.Fees, r.fees)
		res.Receipts = append(res.Receipts, r.receipts...)
		if r.err != nil {
			lastErr = r.err
		}
		opts.Logger.Info("funding round", "chain", opts.Label, "round", round, "sent", len(todo), "mined", r.mined, "retry", len(r.retry))
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if len(r.retry) == 0 {
			break
		}
		// Some transfers were lost or failed: look again at what is missing.
		sub := make([]common.Address, len(r.retry))
		for i, idx := range r.retry {
			sub[i] = to[idx]
		}
		subTodo, subNeeds, err := shortfalls(ctx, c, sub, amount)
		if err != nil {
			return res, err
		}
		todo = todo[:0]
		for k, j := range subTodo {
			todo = append(todo, r.retry[j])
			needs[r.retry[j]] = subNeeds[k]
		}
		_ = bar.Add(len(r.retry) - len(subTodo))
	}
	bals, err := c.BalancesAt(ctx, to)
	if err != nil {
		return res, fmt.Errorf("verify funded balances: %w", err)
	}
	var short []common.Address
	for i, b := range bals {
		if b.Cmp(amount) >= 0 {
			res.Accounts++
		} else {
			short = append(short, to[i])
		}
	}
	res.Elapsed = time.Since(start)
	if len(short) > 0 {
		return res, fmt.Errorf("funding from %s on %s: %d of %d accounts still below %s KLAY (first %s); last error: %v",
			funder.Address.Hex(), c.URL(), len(short), len(to), FormatKLAY(amount), short[0].Hex(), lastErr)
	}
	return res, nil
}

// shortfalls returns the indexes of addrs below amount and, indexed like
// addrs, what each one lacks.
func shortfalls(ctx context.Context, c *Client, addrs []common.Address, amount *big.Int) ([]int, []*big.Int, error) {
	bals, err := c.BalancesAt(ctx, addrs)
	if err != nil {
		return nil, nil, fmt.Errorf("read balances on %s: %w", c.URL(), err)
	}
	var todo []int
	needs := make([]*big.Int, len(addrs))
	for i, b := range bals {
		if b.Cmp(amount) < 0 {
			todo = append(todo, i)
			needs[i] = new(big.Int).Sub(amount, b)
		}
	}
	return todo, needs, nil
}

type roundResult struct {
	mined    int
	value    *big.Int
	fees     *big.Int
	receipts []*Receipt
	retry    []int // recipient indexes to look at again
	err      error // last send error
}

// fundRound sends one transfer per index in todo and waits for their blocks.
func fundRound(ctx context.Context, c *Client, w Waiter, funder *Account, chainID *big.Int, price *GasPricer,
	to []common.Address, todo []int, needs []*big.Int, opts FundOptions, bar *progress) roundResult {
	res := roundResult{value: new(big.Int), fees: new(big.Int)}
	set := newAwaitSet(c, w)
	set.fill = gapFiller(chainID, price)
	var mu sync.Mutex // guards res while sending
	parallel(ctx, len(todo), opts.Concurrency, func(k int) {
		idx := todo[k]
		tx, err := sendTransfer(ctx, set, funder, idx, chainID, price, to[idx], needs[idx])
		if tx == nil || err != nil {
			mu.Lock()
			res.err = err
			if tx == nil {
				res.retry = append(res.retry, idx)
			}
			mu.Unlock()
		}
	})
	set.wait(ctx, opts.ReceiptTimeout, func(o outcome) {
		r := o.inc.Receipt
		switch {
		case o.a.index < 0: // a gap filler: only its fee counts
			if o.inc.Err == nil && r != nil {
				res.fees.Add(res.fees, r.Fee())
				res.receipts = append(res.receipts, r)
			}
		case o.inc.Err != nil || r == nil:
			funder.Nonce.Invalidate()
			res.retry = append(res.retry, o.a.index)
		case r.Status == 1:
			res.mined++
			res.value.Add(res.value, o.a.tx.Value())
			res.fees.Add(res.fees, r.Fee())
			res.receipts = append(res.receipts, r)
			_ = bar.Add(1)
		default:
			res.fees.Add(res.fees, r.Fee())
			res.receipts = append(res.receipts, r)
			res.retry = append(res.retry, o.a.index)
		}
	})
	return res
}

// sendTransfer sends value to `to`, refreshing the gas price when the node
// says it is too low.
func sendTransfer(ctx context.Context, set *awaitSet, from *Account, index int, chainID *big.Int, price *GasPricer, to common.Address, value *big.Int) (*types.Transaction, error) {
	for attempt := 0; ; attempt++ {
		gp, err := price.Get(ctx)
		if err != nil {
			return nil, err
		}
		tx, err := set.send(ctx, from, index, func(nonce uint64) (*types.Transaction, error) {
			return from.SignTransfer(chainID, nonce, to, value, gp)
		})
		if OutcomeOf(err) != Underpriced || attempt >= 3 {
			return tx, err
		}
		price.Refresh(gp)
	}
}

// gapFiller returns an awaitSet hook that signs a zero-value transfer to
// the sender itself with the missing nonce.
func gapFiller(chainID *big.Int, price *GasPricer) func(context.Context, *Account, uint64) (*types.Transaction, error) {
	return func(ctx context.Context, from *Account, nonce uint64) (*types.Transaction, error) {
		gp, err := price.Get(ctx)
		if err != nil {
			return nil, err
		}
		return from.SignTransfer(chainID, nonce, from.Address, new(big.Int), gp)
	}
}

// parallel calls fn(i) for every i in [0, n), at most limit calls at a time,
// and returns when they have all returned. Once ctx ends no new call starts.
func parallel(ctx context.Context, n, limit int, fn func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(limit, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
}
