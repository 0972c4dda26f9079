package tc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/params"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// The ethereum family: Ethereum's transaction types on Kaia. As in
// kaia-load-tester, an iteration is at random a value transfer, a KVStore
// deployment or a KVStore.set call. kaia-load-tester's ethereumTx…TC cases
// started an external signer process per transaction and its
// newEthereum…TC cases signed in process; here both names sign in process
// (Kaia v1.0.3 blockchain/types), so the new… names are aliases.

// ethRow is one Ethereum transaction type.
type ethRow struct {
	name    string
	aliases []string
	what    string
	typ     types.TxType
	// accessList: ask the node for the call's access list
	// (klay_createAccessList) before each transaction.
	accessList bool
	// make builds the unsigned transaction.
	make func(e *ethTask, a ethCall, nonce uint64, gp *big.Int) (*types.Transaction, error)
}

// ethRows is the ethereum family's table.
func ethRows() []ethRow {
	return []ethRow{
		{name: "ethereumTxLegacyTC", what: "legacy (type 0) transaction",
			typ: types.TxTypeLegacyTransaction, make: func(e *ethTask, a ethCall, nonce uint64, gp *big.Int) (*types.Transaction, error) {
				if a.to == nil {
					return types.NewContractCreation(nonce, a.value, a.gas, gp, a.data), nil
				}
				return types.NewTransaction(nonce, *a.to, a.value, a.gas, gp, a.data), nil
			}},
		{name: "ethereumTxAccessListTC", aliases: []string{"newEthereumAccessListTC"},
			what: "EIP-2930 access-list transaction, the list from klay_createAccessList", typ: types.TxTypeEthereumAccessList, accessList: true,
			make: func(e *ethTask, a ethCall, nonce uint64, gp *big.Int) (*types.Transaction, error) {
				return types.NewTransactionWithMap(types.TxTypeEthereumAccessList, map[types.TxValueKeyType]any{
					types.TxValueKeyChainID: e.chain.chain.ChainID, types.TxValueKeyNonce: nonce, types.TxValueKeyTo: a.to,
					types.TxValueKeyAmount: a.value, types.TxValueKeyData: a.data, types.TxValueKeyGasLimit: a.gas,
					types.TxValueKeyGasPrice: gp, types.TxValueKeyAccessList: a.list,
				})
			}},
		{name: "ethereumTxDynamicFeeTC", aliases: []string{"newEthereumDynamicFeeTC"},
			what: "EIP-1559 dynamic-fee transaction, tip from klay_maxPriorityFeePerGas, cap 2 × base fee + tip", typ: types.TxTypeEthereumDynamicFee,
			make: func(e *ethTask, a ethCall, nonce uint64, _ *big.Int) (*types.Transaction, error) {
				return types.NewTransactionWithMap(types.TxTypeEthereumDynamicFee, map[types.TxValueKeyType]any{
					types.TxValueKeyChainID: e.chain.chain.ChainID, types.TxValueKeyNonce: nonce, types.TxValueKeyTo: a.to,
					types.TxValueKeyAmount: a.value, types.TxValueKeyData: a.data, types.TxValueKeyGasLimit: a.gas,
					types.TxValueKeyGasTipCap: a.tip, types.TxValueKeyGasFeeCap: a.feeCap, types.TxValueKeyAccessList: types.AccessList{},
				})
			}},
	}
}

// ethereumFamily returns the ethereum family's cases.
func ethereumFamily() []Case {
	var out []Case
	for _, r := range ethRows() {
		out = append(out, Case{Name: r.name, Aliases: r.aliases, Family: "ethereum", NeedsChains: true,
			Description: r.what + ": at random a transfer, a KVStore deployment or a KVStore.set call",
			New:         func(ctx context.Context, env *Env) (Task, error) { return newEthTask(ctx, env, r) }})
	}
	return out
}

// Actions of an ethereum iteration.
const (
	ethTransfer = iota
	ethDeploy
	ethExecute
	ethActions
)

// ethCall is one iteration's call.
type ethCall struct {
	to          *common.Address // nil: deployment
	value       *big.Int
	data        []byte
	gas         uint64
	list        types.AccessList
	tip, feeCap *big.Int
}

// ethTask runs one case of the ethereum family on one chain.
type ethTask struct {
	row       ethRow
	names     txNames
	chain     *chainTx
	fees      *feeCaps
	kv        *kvStore
	kvAddr    common.Address
	deployGas uint64
	setGas    uint64
	// action, if set, picks the iteration's action (tests); else random.
	action func() int
	// done, if set, sees every transaction with its verdict.
	done func(*nativeShot)
}

func newEthTask(ctx context.Context, env *Env, r ethRow) (*ethTask, error) {
	c := env.MC
	if err := needAccounts(c); err != nil {
		return nil, err
	}
	e := &ethTask{row: r, names: namesOf(r.name), chain: newChainTx(c), fees: &feeCaps{c: c.Client}}
	// The KVStore instance and both estimates, as the native family's.
	n := &nativeTask{chain: e.chain}
	if err := n.prepareKVStore(ctx, env); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	e.kv, e.kvAddr, e.setGas = n.kv, n.kvAddr, n.setGas
	// Ethereum types pay 16 gas per payload byte, not Kaia's 100.
	e.deployGas = n.deployGas - uint64(len(n.kv.Bin))*(params.TxDataGas-16)
	if r.typ == types.TxTypeEthereumDynamicFee {
		if _, _, err := e.fees.get(ctx); err != nil {
			return nil, fmt.Errorf("%s: %w", r.name, err)
		}
	}
	return e, nil
}

// errAllDecoupled: no test account can send Ethereum transactions.
var errAllDecoupled = errors.New("every test account has a key an account update set, and Kaia takes Ethereum transactions only from accounts with their original key: run the ethereum cases apart from newAccountUpdateTC")

// Run implements Task.
func (e *ethTask) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	// The shot stays on the stack unless a test looks at it (done): at
	// saturation its allocation was a visible share of the iteration.
	var s nativeShot
	a, err := e.prepare(ctx, &s)
	var tk *klay.Ticket
	if err == nil {
		var nonce uint64
		tk, err = e.chain.send(ctx, s.From, func(n uint64, gp *big.Int) (*types.Transaction, error) {
			nonce = n
			return e.row.make(e, a, n, gp)
		})
		s.Nonce = nonce
	}
	if tk != nil {
		s.Tx = tk.Tx
	}
	reportTx(ctx, it, out, e.names, tk, err, nil)
	if e.done != nil {
		e.report(s, tk, err)
	}
}

// report gives the test's done the shot with its verdict.
func (e *ethTask) report(shot nativeShot, tk *klay.Ticket, err error) {
	s := &shot
	if tk == nil {
		s.Err = err
		e.done(s)
		return
	}
	tk.Then(func(inc klay.Inclusion) {
		s.Inc, s.Err = inc, inclusionError(inc)
		e.done(s)
	})
}

// prepare draws the iteration's sender and call, and reads the access
// list and fees it needs.
func (e *ethTask) prepare(ctx context.Context, s *nativeShot) (ethCall, error) {
	c := e.chain.chain
	from := e.chain.from()
	for i := 0; i < 2*len(c.Accounts) && from.Decoupled(); i++ {
		from = pick(c.Accounts)
	}
	*s = nativeShot{Case: e.names.iter, Type: e.row.typ, From: from}
	a := ethCall{value: new(big.Int)}
	if from.Decoupled() {
		return a, errAllDecoupled
	}
	act := rand.IntN(ethActions)
	if e.action != nil {
		act = e.action()
	}
	switch act {
	case ethTransfer:
		to := otherThan(c.Accounts, from).Address
		s.To, s.Value = to, transferValue()
		a.to, a.value, a.gas = &to, s.Value, params.TxGas
		s.row = nativeRow{check: checkTx}
	case ethDeploy:
		a.data, a.gas = e.kv.Bin, e.deployGas
		s.row = nativeRow{check: checkDeployed}
	default:
		s.Contract, s.StoreKey, s.StoreValue = e.kvAddr, randomWord(), randomWord()
		a.to, a.data, a.gas = &e.kvAddr, e.kv.mustPackSet(s.StoreKey, s.StoreValue), e.setGas
		s.row = nativeRow{check: checkStored}
	}
	s.Data = a.data
	if e.row.accessList {
		list, err := createAccessList(ctx, c.Client, from.Address, a)
		if err != nil {
			return a, err
		}
		a.list = list
		for _, t := range list {
			a.gas += params.TxAccessListAddressGas + uint64(len(t.StorageKeys))*params.TxAccessListStorageKeyGas
		}
	}
	if e.row.typ == types.TxTypeEthereumDynamicFee {
		tip, base, err := e.fees.get(ctx)
		if err != nil {
			return a, err
		}
		a.tip = tip
		a.feeCap = new(big.Int).Add(new(big.Int).Mul(base, big.NewInt(2)), tip)
	}
	return a, nil
}

// createAccessList asks the node (klay_createAccessList) which addresses
// and storage keys the call touches.
func createAccessList(ctx context.Context, c *klay.Client, from common.Address, a ethCall) (types.AccessList, error) {
	arg := map[string]any{"from": from, "gas": hexutil.Uint64(a.gas), "value": (*hexutil.Big)(a.value), "input": hexutil.Bytes(a.data)}
	if a.to != nil {
		arg["to"] = a.to
	}
	var res struct {
		AccessList types.AccessList `json:"accessList"`
		Error      string           `json:"error"`
	}
	if err := c.Call(ctx, &res, "klay_createAccessList", arg, "latest"); err != nil {
		return nil, fmt.Errorf("klay_createAccessList: %w", err)
	}
	if res.Error != "" {
		return nil, fmt.Errorf("klay_createAccessList: the call fails: %s", res.Error)
	}
	return res.AccessList, nil
}

// feeTTL is how long a tip and base fee are reused, as gasPriceTTL.
const feeTTL = 2 * time.Second

// feeCaps caches the node's tip (klay_maxPriorityFeePerGas) and the
// latest block's base fee.
type feeCaps struct {
	c *klay.Client

	mu        sync.Mutex
	at        time.Time
	tip, base *big.Int
}

func (f *feeCaps) get(ctx context.Context) (tip, base *big.Int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tip != nil && time.Since(f.at) < feeTTL {
		return f.tip, f.base, nil
	}
	var t hexutil.Big
	if err := f.c.Call(ctx, &t, "klay_maxPriorityFeePerGas"); err != nil {
		return nil, nil, fmt.Errorf("klay_maxPriorityFeePerGas: %w", err)
	}
	var raw json.RawMessage
	if err := f.c.Call(ctx, &raw, "klay_getHeaderByNumber", "latest"); err != nil {
		return nil, nil, fmt.Errorf("klay_getHeaderByNumber: %w", err)
	}
	var h struct {
		BaseFee *hexutil.Big `json:"baseFeePerGas"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.BaseFee == nil {
		return nil, nil, fmt.Errorf("the latest header of %s has no base fee (Kaia before Magma?)", f.c.URL())
	}
	f.tip, f.base, f.at = t.ToInt(), h.BaseFee.ToInt(), time.Now()
	return f.tip, f.base, nil
}
