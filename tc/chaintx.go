package tc

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// TransferValuePeb is what every KLAY transfer moves: small, so that test
// accounts last, and nonzero, so that balances show it (10^-6 KLAY).
const TransferValuePeb = 1_000_000_000_000

// transferValue returns TransferValuePeb as a new big.Int.
func transferValue() *big.Int { return big.NewInt(TransferValuePeb) }

// gasPriceTTL is how long a klay_gasPrice answer is reused. Asking for
// every transaction would double the RPC load; the base fee moves slowly,
// and an "underpriced" answer refreshes it at once.
const gasPriceTTL = 2 * time.Second

// chainTx is what a test case needs to send on one chain.
type chainTx struct {
	chain *Chain
	price *klay.GasPricer
}

func newChainTx(c *Chain) *chainTx {
	return &chainTx{chain: c, price: klay.NewGasPricer(c.Client, nil, gasPriceTTL)}
}

// from returns a test account whose lane can send now.
func (c *chainTx) from() *klay.Account { return c.chain.Lanes.Pick() }

// send signs the transaction mk builds at the cached gas price and sends it
// on from's lane; an "underpriced" answer refreshes the price and tries
// once more. With an unknown outcome it returns the ticket and the error.
func (c *chainTx) send(ctx context.Context, from *klay.Account, mk func(nonce uint64, gasPrice *big.Int) (*types.Transaction, error)) (*klay.Ticket, error) {
	return c.sendSigned(ctx, from, func(nonce uint64, gp *big.Int) (*types.Transaction, error) {
		tx, err := mk(nonce, gp)
		if err != nil {
			return nil, err
		}
		return from.Sign(tx, c.chain.ChainID)
	})
}

// sendSigned is send for transactions mk signs itself (fee delegation
// needs a second signature after the sender's). It waits, bounded by ctx,
// while an account update of from awaits its block.
func (c *chainTx) sendSigned(ctx context.Context, from *klay.Account, mk func(nonce uint64, gasPrice *big.Int) (*types.Transaction, error)) (*klay.Ticket, error) {
	lane := c.chain.Lanes.Lane(from.Address)
	if lane == nil {
		return nil, fmt.Errorf("%s is not a test account of the %s chain", from.Address.Hex(), c.chain.Name)
	}
	for attempt := 0; ; attempt++ {
		gp, err := c.price.Get(ctx)
		if err != nil {
			return nil, err
		}
		tk, err := lane.Send(ctx, func(nonce uint64) (*types.Transaction, error) {
			if err := from.WaitKey(ctx); err != nil {
				return nil, err
			}
			return mk(nonce, gp)
		})
		if klay.OutcomeOf(err) == klay.Underpriced && attempt == 0 {
			c.price.Refresh(gp)
			continue
		}
		return tk, err
	}
}

// call sends a legacy contract call (or plain transfer with data nil).
func (c *chainTx) call(ctx context.Context, from *klay.Account, to common.Address, value *big.Int, gas uint64, data []byte) (*klay.Ticket, error) {
	return c.send(ctx, from, func(nonce uint64, gp *big.Int) (*types.Transaction, error) {
		return types.NewTransaction(nonce, to, value, gas, gp, data), nil
	})
}

// estimate returns the gas of a call from `from` with klay.GasMargin.
func (c *chainTx) estimate(ctx context.Context, from common.Address, to common.Address, value *big.Int, data []byte) (uint64, error) {
	g, err := c.chain.Client.EstimateGas(ctx, klay.CallMsg{From: from, To: &to, Value: value, Data: data})
	if err != nil {
		return 0, err
	}
	return klay.WithMargin(g), nil
}

// pick returns a random element of accs.
func pick(accs []*klay.Account) *klay.Account { return accs[rand.IntN(len(accs))] }

// errNoAccounts is returned by New when the env has no test accounts.
var errNoAccounts = errors.New("no test accounts: this case needs funded accounts on both chains")

func needAccounts(chains ...*Chain) error {
	for _, c := range chains {
		if c == nil || len(c.Accounts) == 0 || c.Client == nil || c.Lanes == nil {
			return errNoAccounts
		}
	}
	return nil
}
