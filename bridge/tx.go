package bridge

import (
	"context"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// Side is one chain as set-up sees it: a client, its chain id and the
// funder that pays for deployments and charges on that chain.
type Side struct {
	Name    string // "main" or "service", for messages
	Client  *klay.Client
	ChainID *big.Int
	Funder  *klay.Account
	// Waiter follows set-up transactions to their blocks: the chain's
	// block scanner. Nil starts a scanner per call.
	Waiter klay.Waiter
}

// Transact estimates, sends and waits for one set-up transaction from the
// side's funder, and fails unless its receipt has status 1.
func (s Side) Transact(ctx context.Context, to *common.Address, value *big.Int, data []byte) (*klay.Receipt, error) {
	return klay.Transact(ctx, s.Client, s.Waiter, s.ChainID, s.Funder, to, value, data)
}

// TransactMany sends calls to `to` from the side's funder concurrently and
// waits for every receipt to succeed (see klay.TransactMany).
func (s Side) TransactMany(ctx context.Context, to common.Address, calls [][]byte) error {
	return klay.TransactMany(ctx, s.Client, s.Waiter, s.ChainID, s.Funder, to, calls)
}

// Deploy creates a contract from the side's funder and returns its address.
func (s Side) Deploy(ctx context.Context, code []byte) (common.Address, error) {
	return klay.Deploy(ctx, s.Client, s.Waiter, s.ChainID, s.Funder, code)
}
