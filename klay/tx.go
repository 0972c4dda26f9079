package klay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
)

// ReceiptTimeout bounds the wait for set-up transactions (Transact,
// TransactMany, Deploy) to be mined, and for a funding or sweep round.
const ReceiptTimeout = 60 * time.Second

// GasMargin is applied to every klay_estimateGas answer (in percent): the
// estimate is exact for the state it ran on, and state moves under load.
const GasMargin = 150

// WithMargin returns gas × GasMargin / 100.
func WithMargin(gas uint64) uint64 { return gas * GasMargin / 100 }

// CallTx returns a Builder of a legacy transaction from a to `to` (nil:
// contract creation) on chainID. Legacy transactions are understood by
// every Klaytn and Kaia node and by Kaia's bridge operators alike.
func CallTx(a *Account, chainID *big.Int, to *common.Address, value *big.Int, gas uint64, gasPrice *big.Int, data []byte) Builder {
	if value == nil {
		value = new(big.Int)
	}
	return func(nonce uint64) (*types.Transaction, error) {
		var tx *types.Transaction
		if to == nil {
			tx = types.NewContractCreation(nonce, value, gas, gasPrice, data)
		} else {
			tx = types.NewTransaction(nonce, *to, value, gas, gasPrice, data)
		}
		return a.Sign(tx, chainID)
	}
}

// Transact estimates the gas of a call from `from`, sends it at the node's
// gas price and waits, through w (nil: a scanner for the call), for its
// block and a successful receipt.
func Transact(ctx context.Context, c *Client, w Waiter, chainID *big.Int, from *Account, to *common.Address, value *big.Int, data []byte) (*Receipt, error) {
	gas, err := c.EstimateGas(ctx, CallMsg{From: from.Address, To: to, Value: value, Data: data})
	if err != nil {
		return nil, fmt.Errorf("estimate gas: %w", err)
	}
	gp, err := c.GasPrice(ctx)
	if err != nil {
		return nil, fmt.Errorf("gas price: %w", err)
	}
	rs, err := transact(ctx, c, w, from, []Builder{CallTx(from, chainID, to, value, WithMargin(gas), gp, data)})
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// TransactMany sends calls to `to` from `from` concurrently (the nonce
// manager numbers them), with one gas estimate for all, and waits, through
// w (nil: a scanner for the call), for every one to succeed.
func TransactMany(ctx context.Context, c *Client, w Waiter, chainID *big.Int, from *Account, to common.Address, calls [][]byte) error {
	if len(calls) == 0 {
		return nil
	}
	gas, err := c.EstimateGas(ctx, CallMsg{From: from.Address, To: &to, Data: calls[0]})
	if err != nil {
		return fmt.Errorf("estimate gas: %w", err)
	}
	gp, err := c.GasPrice(ctx)
	if err != nil {
		return err
	}
	builds := make([]Builder, len(calls))
	for i, data := range calls {
		builds[i] = CallTx(from, chainID, &to, nil, WithMargin(gas), gp, data)
	}
	_, err = transact(ctx, c, w, from, builds)
	return err
}

// transact sends the transactions of builds from `from`, 16 at a time, and
// returns their receipts, in order, once every one succeeded.
func transact(ctx context.Context, c *Client, w Waiter, from *Account, builds []Builder) ([]*Receipt, error) {
	w, stop := withWaiter(ctx, c, w, nil)
	defer stop()
	set := newAwaitSet(c, w)
	errs := make([]error, len(builds))
	parallel(ctx, len(builds), 16, func(i int) {
		if tx, err := set.send(ctx, from, i, builds[i]); tx == nil {
			errs[i] = err
		}
	})
	if err := errors.Join(errs...); err != nil {
		// Those sent are left to the waiter: a set-up is not retried.
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rs := make([]*Receipt, len(builds))
	set.wait(ctx, ReceiptTimeout, func(o outcome) {
		h := o.a.tx.Hash().Hex()
		switch {
		case o.inc.Err != nil:
			errs[o.a.index] = fmt.Errorf("tx %s on %s: %w", h, c.URL(), o.inc.Err)
		case o.inc.Status != 1:
			errs[o.a.index] = fmt.Errorf("tx %s failed on %s (txError %#x)", h, c.URL(), o.inc.TxError)
		default:
			rs[o.a.index] = o.inc.Receipt
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rs, nil
}

// Deploy creates a contract from `from` with the creation code (bytecode
// and packed constructor arguments) and returns its address.
func Deploy(ctx context.Context, c *Client, w Waiter, chainID *big.Int, from *Account, code []byte) (common.Address, error) {
	r, err := Transact(ctx, c, w, chainID, from, nil, nil, code)
	if err != nil {
		return common.Address{}, err
	}
	if r.ContractAddress == nil {
		return common.Address{}, fmt.Errorf("deploy tx %s has no contract address", r.TxHash.Hex())
	}
	return *r.ContractAddress, nil
}

// ErrTimeout is returned when a receipt or a condition did not show up in
// time.
var ErrTimeout = errors.New("timed out")

// Poll calls cond every 200 ms until it returns true or an error, ctx
// ends, or timeout passes (ErrTimeout).
func Poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		t := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// HasCode reports whether a contract is deployed at addr.
func HasCode(ctx context.Context, c *Client, addr common.Address) (bool, error) {
	if addr == (common.Address{}) {
		return false, nil
	}
	var code hexutil.Bytes
	if err := c.Call(ctx, &code, "klay_getCode", addr, "latest"); err != nil {
		return false, fmt.Errorf("code at %s on %s: %w", addr.Hex(), c.URL(), err)
	}
	return len(code) > 0, nil
}
