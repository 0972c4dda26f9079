package tc

import (
	"context"
	"math/big"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// txMaker builds an unsigned value transfer of one transaction type.
type txMaker func(nonce uint64, from, to common.Address, value *big.Int, gas uint64, gasPrice *big.Int) (*types.Transaction, error)

// legacyTransfer builds a legacy (Ethereum-style) transfer.
func legacyTransfer(nonce uint64, _, to common.Address, value *big.Int, gas uint64, gp *big.Int) (*types.Transaction, error) {
	return types.NewTransaction(nonce, to, value, gas, gp, nil), nil
}

// kaiaValueTransfer builds a Klaytn TxTypeValueTransfer.
func kaiaValueTransfer(nonce uint64, from, to common.Address, value *big.Int, gas uint64, gp *big.Int) (*types.Transaction, error) {
	return types.NewTransactionWithMap(types.TxTypeValueTransfer, map[types.TxValueKeyType]interface{}{
		types.TxValueKeyNonce:    nonce,
		types.TxValueKeyFrom:     from,
		types.TxValueKeyTo:       to,
		types.TxValueKeyAmount:   value,
		types.TxValueKeyGasLimit: gas,
		types.TxValueKeyGasPrice: gp,
	})
}

// plainTransfer is a baseline beside the bridge: one value transfer per
// iteration between two random test accounts of one chain.
type plainTransfer struct {
	names txNames
	chain *chainTx
	gas   uint64
	mk    txMaker
	// sent, if set, sees each sent transaction (tests check them).
	sent func(*klay.Ticket)
}

// newPlainTransfer prepares a baseline on chain c. Its gas limit is
// estimated once (klay_estimateGas) with margin.
func newPlainTransfer(ctx context.Context, c *Chain, name string, mk txMaker) (*plainTransfer, error) {
	if err := needAccounts(c); err != nil {
		return nil, err
	}
	ct := newChainTx(c)
	gas, err := ct.estimate(ctx, c.Accounts[0].Address, c.Accounts[len(c.Accounts)-1].Address, transferValue(), nil)
	if err != nil {
		return nil, err
	}
	return &plainTransfer{names: namesOf(name).on(c.Name, ""), chain: ct, gas: max(gas, klay.TransferGas), mk: mk}, nil
}

// Run implements Task: the iteration succeeds when a block holds the
// transfer with status 1; its latency runs from the due time to that
// block's time.
func (p *plainTransfer) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	from, to := p.chain.from(), pick(p.chain.chain.Accounts)
	tk, err := p.chain.send(ctx, from, func(nonce uint64, gp *big.Int) (*types.Transaction, error) {
		return p.mk(nonce, from.Address, to.Address, transferValue(), p.gas, gp)
	})
	if tk != nil && p.sent != nil {
		p.sent(tk)
	}
	reportTx(ctx, it, out, p.names, tk, err, nil)
}
