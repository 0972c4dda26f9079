package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/klayslave/klayslave/klay"
)

// Side is one chain as set-up sees it: a client, its chain id and the
// funder that pays for deployments and charges on that chain.
type Side struct {
	Name    string // "main" or "service", for messages
	Client  *klay.Client
	ChainID *big.Int
	Funder  *klay.Account
}

// ReceiptTimeout bounds the wait for a set-up transaction to be mined.
const ReceiptTimeout = 60 * time.Second

// GasMargin is applied to every klay_estimateGas answer (in percent): the
// estimate is exact for the state it ran on, and state moves under load.
const GasMargin = 150

// WithMargin returns gas × GasMargin / 100.
func WithMargin(gas uint64) uint64 { return gas * GasMargin / 100 }

// CallTx returns a Builder of a legacy transaction from a to `to` (nil:
// contract creation) on chainID. Legacy transactions are understood by
// every Klaytn and Kaia node and by Kaia's bridge operators alike.
func CallTx(a *klay.Account, chainID *big.Int, to *common.Address, value *big.Int, gas uint64, gasPrice *big.Int, data []byte) klay.Builder {
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

// Transact estimates, sends and waits for one set-up transaction from the
// side's funder, and fails unless its receipt has status 1.
func (s Side) Transact(ctx context.Context, to *common.Address, value *big.Int, data []byte) (*klay.Receipt, error) {
	return Transact(ctx, s.Client, s.ChainID, s.Funder, to, value, data)
}

// Transact estimates the gas of a call from `from`, sends it at the node's
// gas price and waits for a successful receipt.
func Transact(ctx context.Context, c *klay.Client, chainID *big.Int, from *klay.Account, to *common.Address, value *big.Int, data []byte) (*klay.Receipt, error) {
	gas, err := c.EstimateGas(ctx, klay.CallMsg{From: from.Address, To: to, Value: value, Data: data})
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

// ErrTimeout is returned when a receipt or a condition did not show up in
// time.
var ErrTimeout = errors.New("timed out")

// WaitReceipt polls for the receipt of hash every 200 ms for up to timeout.
func WaitReceipt(ctx context.Context, c *klay.Client, hash common.Hash, timeout time.Duration) (*klay.Receipt, error) {
	var r *klay.Receipt
	err := Poll(ctx, timeout, func() (bool, error) {
		var err error
		r, err = c.TransactionReceipt(ctx, hash)
		if errors.Is(err, klay.ErrNotFound) {
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
func HasCode(ctx context.Context, c *klay.Client, addr common.Address) (bool, error) {
	if addr == (common.Address{}) {
		return false, nil
	}
	var code hexutil.Bytes
	if err := c.Call(ctx, &code, "klay_getCode", addr, "latest"); err != nil {
		return false, fmt.Errorf("code at %s on %s: %w", addr.Hex(), c.URL(), err)
	}
	return len(code) > 0, nil
}

// Deploy creates a contract from the side's funder and returns its address.
func (s Side) Deploy(ctx context.Context, code []byte) (common.Address, error) {
	r, err := s.Transact(ctx, nil, nil, code)
	if err != nil {
		return common.Address{}, err
	}
	if r.ContractAddress == nil {
		return common.Address{}, fmt.Errorf("deploy tx %s has no contract address", r.TxHash.Hex())
	}
	return *r.ContractAddress, nil
}
