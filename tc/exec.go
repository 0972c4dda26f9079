package tc

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

const (
	// cpuHeavySize is the array CPUHeavy.sort sorts per call, as in
	// kaia-load-tester's cpuHeavyTx: quadratic work, a few hundred
	// thousand gas.
	cpuHeavySize = 100
	// ycsbKeys bounds ycsbSetTx's key space, so that its writes mix new
	// slots with overwrites as YCSB's load does.
	ycsbKeys = 10_000
	// Calldata sizes of largeMemoTC, in bytes: uniform in [min, max], as
	// kaia-load-tester's largeMemoTC.
	largeCalldataMin = 50
	largeCalldataMax = 2000
)

// execRow is one case of the execution family: one call of a contract
// method per iteration, from a test account.
type execRow struct {
	name, desc string
	aliases    []string
	contract   string // contracts name of the ABI called
	// target finds (or deploys) the contract called.
	target func(ctx context.Context, s *contractSet) (common.Address, error)
	value  *big.Int // sent with each call; nil for none
	// call returns an iteration's method and arguments. worst asks for
	// the costliest, from which the gas limit is estimated once.
	call func(from *klay.Account, accs []*klay.Account, worst bool) (string, []any)
}

// execRows is the execution family (kaia-load-tester's names).
func execRows() []execRow {
	deployed := func(name string) func(context.Context, *contractSet) (common.Address, error) {
		return func(ctx context.Context, s *contractSet) (common.Address, error) { return s.ensure(ctx, name, nil) }
	}
	set := func(key func(from *klay.Account) *big.Int) func(*klay.Account, []*klay.Account, bool) (string, []any) {
		return func(from *klay.Account, _ []*klay.Account, _ bool) (string, []any) {
			return "set", []any{key(from), randomWord()}
		}
	}
	return []execRow{
		{
			name: "cpuHeavyTx", desc: fmt.Sprintf("CPUHeavy.sort: sorts %d words in the EVM and stores a digest", cpuHeavySize),
			contract: contracts.CPUHeavy, target: deployed(contracts.CPUHeavy),
			call: func(*klay.Account, []*klay.Account, bool) (string, []any) {
				return "sort", []any{big.NewInt(cpuHeavySize), new(big.Int).SetUint64(rand.Uint64())}
			},
		},
		{
			name: "storageTrieWriteTC", desc: "KVStore.set of a new random key: every write adds a storage slot",
			contract: contracts.KVStore, target: deployed(contracts.KVStore),
			call: set(func(*klay.Account) *big.Int { return randomWord() }),
		},
		{
			name: "ycsbSetTx", desc: fmt.Sprintf("KVStore.set of a key among %d: new slots and overwrites", ycsbKeys),
			contract: contracts.KVStore, target: deployed(contracts.KVStore),
			call: set(func(*klay.Account) *big.Int { return big.NewInt(rand.Int64N(ycsbKeys)) }),
		},
		{
			name: "userStorageSetTx", desc: "KVStore.set of the sender's own key: overwrites one slot per account",
			contract: contracts.KVStore, target: deployed(contracts.KVStore),
			call: set(func(from *klay.Account) *big.Int { return new(big.Int).SetBytes(from.Address.Bytes()) }),
		},
		{
			name: "internalTxTC", desc: "InternalTx.sendRewards: mints an ERC-721 for a test account and pays the value out to two (internal transactions)",
			contract: contracts.InternalTx, target: internalTxTarget, value: big.NewInt(TransferValuePeb),
			call: func(from *klay.Account, accs []*klay.Account, _ bool) (string, []any) {
				return "sendRewards", []any{other(accs, from).Address, pick(accs).Address}
			},
		},
		{
			name: "mintNFTTC", aliases: []string{"internalTxMintNFTTC"},
			desc:     "KlayslaveERC721.mintCard: mints a token for the sender (the ERC-721 of internalTxTC)",
			contract: contracts.ERC721, target: deployed(contracts.ERC721),
			call: func(*klay.Account, []*klay.Account, bool) (string, []any) { return "mintCard", nil },
		},
		{
			name: "largeMemoTC", desc: fmt.Sprintf("LargeCalldata.put of %d to %d random bytes of calldata", largeCalldataMin, largeCalldataMax),
			contract: contracts.LargeCalldata, target: deployed(contracts.LargeCalldata),
			call: func(_ *klay.Account, _ []*klay.Account, worst bool) (string, []any) {
				n := largeCalldataMax
				if !worst {
					n = largeCalldataMin + rand.IntN(largeCalldataMax-largeCalldataMin+1)
				}
				b := make([]byte, n)
				for i := 0; i < n; i += 8 {
					v := rand.Uint64()
					for j := i; j < min(i+8, n); j++ {
						b[j], v = byte(v), v>>8
					}
				}
				return "put", []any{b}
			},
		},
	}
}

// internalTxTarget returns the InternalTx contract: the given one, else
// one (recorded or new) that mints through the ERC-721 this chain uses.
func internalTxTarget(ctx context.Context, s *contractSet) (common.Address, error) {
	if _, ok := s.given[contracts.InternalTx]; ok {
		return s.ensure(ctx, contracts.InternalTx, nil)
	}
	nft, err := s.ensure(ctx, contracts.ERC721, nil)
	if err != nil {
		return common.Address{}, err
	}
	k, err := contracts.Load(contracts.InternalTx)
	if err != nil {
		return common.Address{}, err
	}
	mintsThrough := func(a common.Address) bool {
		tok, err := klay.ViewAddress(ctx, s.chain.Client, k.ABI, a, "token")
		return err == nil && tok == nft
	}
	return s.ensure(ctx, contracts.InternalTx, mintsThrough, nft)
}

// randomWord returns a random nonzero 256-bit word.
func randomWord() *big.Int {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		v := rand.Uint64() | 1
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return new(big.Int).SetBytes(b[:])
}

// execCases turns the rows into cases.
func execCases() []Case {
	var out []Case
	for _, r := range execRows() {
		out = append(out, Case{
			Name: r.name, Aliases: r.aliases, Description: r.desc, Family: "execution", NeedsChains: true,
			New: func(ctx context.Context, env *Env) (Task, error) { return newExecTask(ctx, env, r) },
		})
	}
	return out
}

// execTask runs one row's call per iteration.
type execTask struct {
	names txNames
	chain *chainTx
	to    common.Address
	abi   abi.ABI
	value *big.Int
	gas   uint64
	call  func(from *klay.Account, accs []*klay.Account, worst bool) (string, []any)
	// sent, if set, sees each sent transaction (tests check them).
	sent func(tk *klay.Ticket)
}

func newExecTask(ctx context.Context, env *Env, r execRow) (*execTask, error) {
	c, k, set, err := mainContract(env, r.contract)
	if err != nil {
		return nil, err
	}
	to, err := r.target(ctx, set)
	if err != nil {
		return nil, err
	}
	t := &execTask{names: namesOf(r.name), chain: newChainTx(c), to: to, abi: k.ABI, value: r.value, call: r.call}
	from := c.Accounts[0]
	data, err := t.data(from, true)
	if err != nil {
		return nil, err
	}
	if t.gas, err = t.chain.estimate(ctx, from.Address, to, t.value, data); err != nil {
		return nil, fmt.Errorf("estimate %s's call of %s at %s: %w", r.name, r.contract, to.Hex(), err)
	}
	return t, nil
}

func (t *execTask) data(from *klay.Account, worst bool) ([]byte, error) {
	method, args := t.call(from, t.chain.chain.Accounts, worst)
	return t.abi.Pack(method, args...)
}

// Run implements Task.
func (t *execTask) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	from := t.chain.from()
	data, err := t.data(from, false)
	if err != nil {
		reportTx(ctx, it, out, t.names, nil, err, nil)
		return
	}
	tk, err := t.chain.call(ctx, from, t.to, t.value, t.gas, data)
	if tk != nil && t.sent != nil {
		t.sent(tk)
	}
	reportTx(ctx, it, out, t.names, tk, err, nil)
}
