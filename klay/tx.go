package klay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
)

// ReceiptTimeout bounds the wait for one set-up transaction (Transact,
// TransactMany, Deploy) to be mined.
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
// gas price and waits for a successful receipt.
func Transact(ctx context.Context, c *Client, chainID *big.Int, from *Account, to *common.Address, value *big.Int, data []byte) (*Receipt, error) {
	gas, err := c.EstimateGas(ctx, CallMsg{From: from.Address, To: to, Value: value, Data: data})
	if err != nil {
		return nil, fmt.Errorf("estimate gas: %w", err)
	}
	gp, err := c.GasPrice(ctx)
	if err != nil {
		return nil, fmt.Errorf("gas price: %w", err)
	}
	tx, err := from.Send(ctx, c, CallTx(from, chainID, to, value, WithMargin(gas), gp, data))
	if err != nil && tx == nil {
		return nil, err
	}
	r, err := WaitReceipt(ctx, c, tx.Hash(), ReceiptTimeout)
	if err != nil {
		return nil, err
	}
	if r.Status != 1 {
		return r, fmt.Errorf("tx %s failed on %s (txError %#x)", tx.Hash().Hex(), c.URL(), r.TxError)
	}
	return r, nil
}

// TransactMany sends calls to `to` from `from` concurrently (the nonce
// manager numbers them), with one gas estimate for all, and waits for every
// receipt to succeed.
func TransactMany(ctx context.Context, c *Client, chainID *big.Int, from *Account, to common.Address, calls [][]byte) error {
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
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, data := range calls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tx, err := from.Send(ctx, c, CallTx(from, chainID, &to, nil, WithMargin(gas), gp, data))
			if tx == nil {
				errs[i] = err
				return
			}
			r, err := WaitReceipt(ctx, c, tx.Hash(), ReceiptTimeout)
			if err == nil && r.Status != 1 {
				err = fmt.Errorf("tx %s failed (txError %#x)", tx.Hash().Hex(), r.TxError)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Deploy creates a contract from `from` with the creation code (bytecode
// and packed constructor arguments) and returns its address.
func Deploy(ctx context.Context, c *Client, chainID *big.Int, from *Account, code []byte) (common.Address, error) {
	r, err := Transact(ctx, c, chainID, from, nil, nil, code)
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

// WaitReceipt polls for the receipt of hash every 200 ms for up to timeout.
func WaitReceipt(ctx context.Context, c *Client, hash common.Hash, timeout time.Duration) (*Receipt, error) {
	var r *Receipt
	err := Poll(ctx, timeout, func() (bool, error) {
		var err error
		r, err = c.TransactionReceipt(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("receipt of %s on %s: %w", hash.Hex(), c.URL(), err)
	}
	return r, nil
}

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
