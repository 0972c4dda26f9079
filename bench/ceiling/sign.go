package main

import (
	"context"
	"fmt"
	"math/big"
	"runtime"
	"sync"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
	"github.com/klayslave/klayslave/klay"
)

// signedTx is a transfer ready to go on the wire.
type signedTx struct {
	raw  []byte
	hash common.Hash
}

// plan is every transfer of a run, signed before the clock starts, so that
// the send loop does nothing but I/O: plan[i] are account i's transfers in
// nonce order.
type plan [][]signedTx

func (p plan) total() int {
	n := 0
	for _, txs := range p {
		n += len(txs)
	}
	return n
}

// hashes returns the set of the plan's transaction hashes, to tell our
// transactions from other people's in the blocks.
func (p plan) hashes() map[common.Hash]struct{} {
	set := make(map[common.Hash]struct{}, p.total())
	for _, txs := range p {
		for _, tx := range txs {
			set[tx.hash] = struct{}{}
		}
	}
	return set
}

// perAccount splits total transfers over n accounts, the first total%n
// accounts taking one more.
func perAccount(total, n int) []int {
	out := make([]int, n)
	if n == 0 {
		return out
	}
	for i := range out {
		out[i] = total / n
		if i < total%n {
			out[i]++
		}
	}
	return out
}

// pendingNonces reads every account's pending nonce in JSON-RPC batches.
func pendingNonces(ctx context.Context, c *klay.Client, accs []*klay.Account) ([]uint64, error) {
	res := make([]hexutil.Uint64, len(accs))
	elems := make([]rpc.BatchElem, len(accs))
	for i, a := range accs {
		elems[i] = rpc.BatchElem{Method: "klay_getTransactionCount", Args: []interface{}{a.Address, "pending"}, Result: &res[i]}
	}
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, fmt.Errorf("pending nonces from %s: %w", c.URL(), err)
	}
	out := make([]uint64, len(accs))
	for i := range elems {
		if elems[i].Error != nil {
			return nil, fmt.Errorf("pending nonce of %s: %w", accs[i].Address.Hex(), elems[i].Error)
		}
		out[i] = uint64(res[i])
	}
	return out, nil
}

// signPlan signs counts[i] Kaia value transfers (TxTypeValueTransfer) of
// `value` peb to `to` for each account, with consecutive nonces from
// nonces[i], on all cores. Signing 200,000 transfers takes seconds, which is
// why it happens before the clock starts.
func signPlan(ctx context.Context, accs []*klay.Account, nonces []uint64, counts []int, chainID *big.Int,
	to common.Address, value, gasPrice *big.Int) (plan, error) {
	p := make(plan, len(accs))
	signer := types.LatestSignerForChainID(chainID)
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(accs); i += workers {
				if ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				txs := make([]signedTx, counts[i])
				for j := range txs {
					tx, err := types.NewTransactionWithMap(types.TxTypeValueTransfer, map[types.TxValueKeyType]interface{}{
						types.TxValueKeyNonce:    nonces[i] + uint64(j),
						types.TxValueKeyFrom:     accs[i].Address,
						types.TxValueKeyTo:       to,
						types.TxValueKeyAmount:   new(big.Int).Set(value),
						types.TxValueKeyGasLimit: uint64(klay.TransferGas),
						types.TxValueKeyGasPrice: new(big.Int).Set(gasPrice),
					})
					if err != nil {
						errs[w] = fmt.Errorf("build transfer of %s: %w", accs[i].Address.Hex(), err)
						return
					}
					stx, err := types.SignTx(tx, signer, accs[i].PrivateKey())
					if err != nil {
						errs[w] = fmt.Errorf("sign transfer of %s: %w", accs[i].Address.Hex(), err)
						return
					}
					raw, err := stx.MarshalBinary()
					if err != nil {
						errs[w] = fmt.Errorf("encode transfer of %s: %w", accs[i].Address.Hex(), err)
						return
					}
					txs[j] = signedTx{raw: raw, hash: stx.Hash()}
				}
				p[i] = txs
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}
