package tc

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// Set-up amounts of the token family. Every test account gets them before
// the load starts, so that no iteration waits for a token.
var (
	erc20PerAccount = new(big.Int).Mul(big.NewInt(1e6), big.NewInt(1e18)) // minted to each account
	erc20Supply     = new(big.Int).Mul(big.NewInt(1e9), big.NewInt(1e18)) // minted to the deployer
	erc20Moved      = big.NewInt(1)                                       // moved per iteration
)

const (
	// erc721PerAccount is the pool of ERC-721 ids each test account owns at
	// set-up. Transfers pass ids between test accounts, so the pools
	// circulate and never run out as a whole.
	erc721PerAccount = 4
	// Accounts per set-up mint transaction: bounded so that a mint stays
	// well inside a transaction's gas and computation limits.
	erc20MintBatch  = 100
	erc721MintBatch = 25
)

// tokenCases is the token family: main-chain ERC-20 and ERC-721
// transfers between test accounts (kaia-load-tester's names).
func tokenCases() []Case {
	return []Case{
		{
			Name:        "erc20TransferTC",
			Family:      "token",
			Description: "ERC-20 transfer between main-chain test accounts (each holds tokens from set-up)",
			NeedsChains: true,
			New: func(ctx context.Context, env *Env) (Task, error) {
				return newERC20Transfer(ctx, env, "erc20TransferTC")
			},
		},
		{
			Name:        "erc721TransferTC",
			Family:      "token",
			Description: "ERC-721 transferFrom of an id the sender owns to another main-chain test account (each owns a pool from set-up)",
			NeedsChains: true,
			New: func(ctx context.Context, env *Env) (Task, error) {
				return newERC721Transfer(ctx, env, "erc721TransferTC")
			},
		},
	}
}

// mintTo sends method(accounts chunk, args...) from the chain's funder to
// `to`, one transaction per chunk of accounts, and waits for all of them.
func mintTo(ctx context.Context, c *Chain, a abi.ABI, to common.Address, chunk int, method string, args func(i int) []any) error {
	addrs := klay.Addresses(c.Accounts)
	var calls [][]byte
	for i := 0; i < len(addrs); i += chunk {
		part := addrs[i:min(i+chunk, len(addrs))]
		data, err := a.Pack(method, append([]any{part}, args(i)...)...)
		if err != nil {
			return err
		}
		calls = append(calls, data)
	}
	// The first chunk is the largest: TransactMany's one gas estimate
	// covers the others.
	if err := klay.TransactMany(ctx, c.Client, c.Waiter, c.ChainID, c.Funder, to, calls); err != nil {
		return fmt.Errorf("%s for %d test accounts: %w", method, len(addrs), err)
	}
	return nil
}

// erc20Transfer moves erc20Moved tokens from one test account to another
// per iteration.
type erc20Transfer struct {
	names txNames
	chain *chainTx
	token common.Address
	abi   abi.ABI
	gas   uint64
	// sent, if set, sees each sent transaction (tests check them).
	sent func(tk *klay.Ticket, from, to common.Address)
}

func newERC20Transfer(ctx context.Context, env *Env, name string) (*erc20Transfer, error) {
	c, k, set, err := mainContract(env, contracts.ERC20)
	if err != nil {
		return nil, err
	}
	token, err := set.ensure(ctx, contracts.ERC20, nil, erc20Supply)
	if err != nil {
		return nil, err
	}
	if err := mintTo(ctx, c, k.ABI, token, erc20MintBatch, "mintBatch", func(int) []any { return []any{erc20PerAccount} }); err != nil {
		return nil, err
	}
	t := &erc20Transfer{names: namesOf(name), chain: newChainTx(c), token: token, abi: k.ABI}
	data, err := k.ABI.Pack("transfer", c.Accounts[len(c.Accounts)-1].Address, erc20Moved)
	if err != nil {
		return nil, err
	}
	if t.gas, err = t.chain.estimate(ctx, c.Accounts[0].Address, token, nil, data); err != nil {
		return nil, fmt.Errorf("estimate an ERC-20 transfer: %w", err)
	}
	return t, nil
}

// Run implements Task.
func (t *erc20Transfer) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	from := t.chain.from()
	to := other(t.chain.chain.Accounts, from)
	data, err := t.abi.Pack("transfer", to.Address, erc20Moved)
	if err != nil {
		reportTx(ctx, it, out, t.names, nil, err, nil)
		return
	}
	tk, err := t.chain.call(ctx, from, t.token, nil, t.gas, data)
	if tk != nil && t.sent != nil {
		t.sent(tk, from.Address, to.Address)
	}
	reportTx(ctx, it, out, t.names, tk, err, nil)
}

// other returns a random account of accs other than a, when there is one.
func other(accs []*klay.Account, a *klay.Account) *klay.Account {
	if len(accs) < 2 {
		return a
	}
	for {
		if b := pick(accs); b != a {
			return b
		}
	}
}

// ownedIDs holds, per test account, the ERC-721 ids it owns and that no
// transaction in flight moves. The lane serialises an account's sends;
// an id leaves the pool when a transfer of it is sent and joins the
// recipient's when a block holds that transfer.
type ownedIDs struct {
	mu  sync.Mutex
	ids map[common.Address][]*big.Int
}

func (o *ownedIDs) put(owner common.Address, id *big.Int) {
	o.mu.Lock()
	o.ids[owner] = append(o.ids[owner], id)
	o.mu.Unlock()
}

// take removes an id owner owns, nil if none.
func (o *ownedIDs) take(owner common.Address) *big.Int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.takeLocked(owner)
}

func (o *ownedIDs) takeLocked(owner common.Address) *big.Int {
	ids := o.ids[owner]
	if len(ids) == 0 {
		return nil
	}
	id := ids[len(ids)-1]
	o.ids[owner] = ids[:len(ids)-1]
	return id
}

// takeAny removes an id of any owner: the owner and the id, or nil.
func (o *ownedIDs) takeAny() (common.Address, *big.Int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for owner := range o.ids { // map order: a different owner each time
		if id := o.takeLocked(owner); id != nil {
			return owner, id
		}
	}
	return common.Address{}, nil
}

// snapshot returns a copy of the pools.
func (o *ownedIDs) snapshot() map[common.Address][]*big.Int {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := make(map[common.Address][]*big.Int, len(o.ids))
	for a, ids := range o.ids {
		m[a] = append([]*big.Int(nil), ids...)
	}
	return m
}

// erc721Transfer moves one ERC-721 id per iteration from the test account
// that owns it to another.
type erc721Transfer struct {
	names  txNames
	chain  *chainTx
	token  common.Address
	abi    abi.ABI
	gas    uint64
	owned  *ownedIDs
	byAddr map[common.Address]*klay.Account
	// sent, if set, sees each sent transaction (tests check them).
	sent func(tk *klay.Ticket, from, to common.Address, id *big.Int)
}

func newERC721Transfer(ctx context.Context, env *Env, name string) (*erc721Transfer, error) {
	c, k, set, err := mainContract(env, contracts.ERC721)
	if err != nil {
		return nil, err
	}
	token, err := set.ensure(ctx, contracts.ERC721, nil)
	if err != nil {
		return nil, err
	}
	// Ids this worker chooses: a random base far above the counter ids
	// that mint and mintCard hand out, so that neither another worker's
	// pools nor the counter meet them.
	first := new(big.Int).Lsh(new(big.Int).SetUint64(rand.Uint64()|1<<63), 64)
	t := &erc721Transfer{names: namesOf(name), chain: newChainTx(c), token: token, abi: k.ABI,
		owned: &ownedIDs{ids: map[common.Address][]*big.Int{}}, byAddr: map[common.Address]*klay.Account{}}
	err = mintTo(ctx, c, k.ABI, token, erc721MintBatch, "mintBatch", func(i int) []any {
		return []any{new(big.Int).Add(first, big.NewInt(int64(i*erc721PerAccount))), big.NewInt(erc721PerAccount)}
	})
	if err != nil {
		return nil, err
	}
	for i, a := range c.Accounts {
		t.byAddr[a.Address] = a
		for j := range erc721PerAccount {
			t.owned.put(a.Address, new(big.Int).Add(first, big.NewInt(int64(i*erc721PerAccount+j))))
		}
	}
	from, to := c.Accounts[0].Address, c.Accounts[len(c.Accounts)-1].Address
	data, err := k.ABI.Pack("transferFrom", from, to, first)
	if err != nil {
		return nil, err
	}
	if t.gas, err = t.chain.estimate(ctx, from, token, nil, data); err != nil {
		return nil, fmt.Errorf("estimate an ERC-721 transfer: %w", err)
	}
	return t, nil
}

// sender returns the account to send from and the id it moves: the lane
// the lanes pick if that account owns an id, else any account that does.
// Never blocks; nil when every id is in flight.
func (t *erc721Transfer) sender() (*klay.Account, *big.Int) {
	a := t.chain.from()
	if id := t.owned.take(a.Address); id != nil {
		return a, id
	}
	owner, id := t.owned.takeAny()
	if id == nil {
		return nil, nil
	}
	return t.byAddr[owner], id
}

// Run implements Task.
func (t *erc721Transfer) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	from, id := t.sender()
	if id == nil {
		reportTx(ctx, it, out, t.names, nil, errNoNFT, nil)
		return
	}
	to := other(t.chain.chain.Accounts, from)
	data, err := t.abi.Pack("transferFrom", from.Address, to.Address, id)
	if err != nil {
		t.owned.put(from.Address, id)
		reportTx(ctx, it, out, t.names, nil, err, nil)
		return
	}
	tk, err := t.chain.call(ctx, from, t.token, nil, t.gas, data)
	if tk == nil {
		t.owned.put(from.Address, id) // refused: still the sender's
	} else {
		if t.sent != nil {
			t.sent(tk, from.Address, to.Address, id)
		}
		tk.Then(func(inc klay.Inclusion) {
			switch {
			case inc.Err == nil && inc.Status == 1:
				t.owned.put(to.Address, id)
			case inc.Err == nil:
				t.owned.put(from.Address, id) // reverted: nothing moved
			}
			// No verdict: whose the id is is unknown, so it leaves the pools.
		})
	}
	reportTx(ctx, it, out, t.names, tk, err, nil)
}
