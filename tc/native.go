package tc

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/blockchain/types/accountkey"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
	"github.com/kaiachain/kaia/params"
	"github.com/kaiachain/kaia/rlp"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// The native family: Kaia's own transaction types (Kaia v1.0.3
// blockchain/types, built with NewTransactionWithMap, signed with
// SignWithKeys and SignFeePayerWithKeys). Each row of nativeRows is one
// transaction type in three cases: the sender pays (the row's name), a fee
// payer pays (newFeeDelegated…TC) and a fee payer pays NativeFeeRatio
// percent (newFeeDelegated…WithRatioTC). Fee payers are test accounts of
// their own (Chain.FeePayers), funded and swept with the others.

// NativeFeeRatio is the fee payer's share, in percent, of the fee of the
// …WithRatioTC cases.
const NativeFeeRatio = 30

// feeMode says who pays a native transaction's fee.
type feeMode int

const (
	senderPays     feeMode = iota
	feePayerPays           // newFeeDelegated…TC
	feePayerShares         // newFeeDelegated…WithRatioTC
)

// Memo sizes of kaia-load-tester's memo cases.
const (
	smallMemo = 200
	largeMemo = 2000
)

// nativeRow is one Kaia transaction type.
type nativeRow struct {
	name string // kaia-load-tester's name of the sender-pays case
	what string // what one iteration sends
	// types are the row's transaction type when the sender pays, when a
	// fee payer pays, and when a fee payer pays a share.
	types [3]types.TxType
	// gas is the gas limit before fee delegation's own gas.
	gas func(n *nativeTask, s *nativeShot) uint64
	// fill draws one transaction's fields into s and sets them in m.
	fill func(n *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any)
	// kvstore: the row needs the KVStore contract (prepared at New).
	kvstore bool
	// anchors: the node must take locally sent anchoring transactions.
	anchors bool
	// cancels: the iteration first sends a value transfer of the same
	// type family and nonce, which the row's cancel replaces.
	cancels bool
	// check verifies on chain the effect of a transaction a block holds
	// with status 1 (tests call it; the load does not).
	check func(ctx context.Context, c *Chain, s *nativeShot) error
}

// nativeRows is the native family's table.
func nativeRows() []nativeRow {
	vt := [3]types.TxType{types.TxTypeValueTransfer, types.TxTypeFeeDelegatedValueTransfer, types.TxTypeFeeDelegatedValueTransferWithRatio}
	memo := [3]types.TxType{types.TxTypeValueTransferMemo, types.TxTypeFeeDelegatedValueTransferMemo, types.TxTypeFeeDelegatedValueTransferMemoWithRatio}
	cancel := [3]types.TxType{types.TxTypeCancel, types.TxTypeFeeDelegatedCancel, types.TxTypeFeeDelegatedCancelWithRatio}
	memoRow := func(name, what string, size int) nativeRow {
		return nativeRow{name: name, what: what, types: memo, gas: payloadGas(params.TxGasValueTransfer),
			fill: func(n *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
				if size == 0 {
					s.Data = []byte("hello")
				} else {
					s.Data = randomText(size)
				}
				transferFields(n, s, m)
				m[types.TxValueKeyData] = s.Data
			}, check: checkInput}
	}
	return []nativeRow{
		{name: "newValueTransferTC", what: "TxTypeValueTransfer between test accounts", types: vt,
			gas: fixedGas(params.TxGasValueTransfer), fill: transferFields, check: checkTx},
		memoRow("newValueTransferMemoTC", "TxTypeValueTransferMemo with the memo \"hello\"", 0),
		memoRow("newValueTransferSmallMemoTC", "TxTypeValueTransferMemo with a 200-byte memo", smallMemo),
		memoRow("newValueTransferLargeMemoTC", "TxTypeValueTransferMemo with a 2,000-byte memo", largeMemo),
		{name: "newAccountUpdateTC", what: "TxTypeAccountUpdate to a new public key (the account then signs with it)",
			types: [3]types.TxType{types.TxTypeAccountUpdate, types.TxTypeFeeDelegatedAccountUpdate, types.TxTypeFeeDelegatedAccountUpdateWithRatio},
			gas:   fixedGas(params.TxGasAccountUpdate + params.TxAccountCreationGasPerKey),
			fill: func(_ *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
				s.NewKey = klay.NextKey(s.From.PrivateKey())
				m[types.TxValueKeyAccountKey] = accountkey.NewAccountKeyPublicWithValue(&s.NewKey.PublicKey)
			}, check: checkAccountKey},
		{name: "newSmartContractDeployTC", what: "TxTypeSmartContractDeploy of the KVStore contract (no recipient)",
			types: [3]types.TxType{types.TxTypeSmartContractDeploy, types.TxTypeFeeDelegatedSmartContractDeploy, types.TxTypeFeeDelegatedSmartContractDeployWithRatio},
			gas:   func(n *nativeTask, s *nativeShot) uint64 { return n.deployGas }, kvstore: true,
			fill: func(n *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
				s.Data = n.kv.Bin
				m[types.TxValueKeyTo] = (*common.Address)(nil)
				m[types.TxValueKeyAmount] = new(big.Int)
				m[types.TxValueKeyData] = s.Data
				m[types.TxValueKeyHumanReadable] = false
				m[types.TxValueKeyCodeFormat] = params.CodeFormatEVM
			}, check: checkDeployed},
		{name: "newSmartContractExecutionTC", what: "TxTypeSmartContractExecution: KVStore.set(random key, random value)",
			types: [3]types.TxType{types.TxTypeSmartContractExecution, types.TxTypeFeeDelegatedSmartContractExecution, types.TxTypeFeeDelegatedSmartContractExecutionWithRatio},
			gas:   func(n *nativeTask, s *nativeShot) uint64 { return n.setGas }, kvstore: true,
			fill: func(n *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
				s.Contract = n.kvAddr
				s.StoreKey, s.StoreValue = randomWord(), randomWord()
				s.Data = n.kv.mustPackSet(s.StoreKey, s.StoreValue)
				m[types.TxValueKeyTo] = n.kvAddr
				m[types.TxValueKeyAmount] = new(big.Int)
				m[types.TxValueKeyData] = s.Data
			}, check: checkStored},
		{name: "newCancelTC", what: "TxTypeCancel of the account's next nonce", types: cancel,
			gas: fixedGas(params.TxGasCancel), fill: func(*nativeTask, *nativeShot, map[types.TxValueKeyType]any) {}, check: checkTx},
		{name: "newValueTransferWithCancelTC", what: "a value transfer, then a TxTypeCancel of the same nonce", types: cancel,
			gas: fixedGas(params.TxGasCancel), cancels: true, fill: func(*nativeTask, *nativeShot, map[types.TxValueKeyType]any) {}, check: checkCancelled},
		{name: "newChainDataAnchoringTC", what: "TxTypeChainDataAnchoring of a (made-up) service-chain block",
			types: [3]types.TxType{types.TxTypeChainDataAnchoring, types.TxTypeFeeDelegatedChainDataAnchoring, types.TxTypeFeeDelegatedChainDataAnchoringWithRatio},
			gas:   payloadGas(params.TxChainDataAnchoringGas), anchors: true,
			fill: func(n *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
				s.Data = anchoringData()
				m[types.TxValueKeyAnchoredData] = s.Data
			}, check: checkInput},
	}
}

// nativeFamily returns every native case: each row in its three fee modes,
// plus newAccountCreationTC, which Kaia v1.0.3 cannot run.
func nativeFamily() []Case {
	var out []Case
	for _, r := range nativeRows() {
		for mode := senderPays; mode <= feePayerShares; mode++ {
			out = append(out, r.nativeCase(mode))
		}
	}
	return out
}

// caseName is kaia-load-tester's name of the row in a fee mode:
// newValueTransferTC, newFeeDelegatedValueTransferTC,
// newFeeDelegatedValueTransferWithRatioTC.
func (r nativeRow) caseName(mode feeMode) string {
	if mode == senderPays {
		return r.name
	}
	base := strings.TrimSuffix(strings.TrimPrefix(r.name, "new"), "TC")
	if mode == feePayerShares {
		return "newFeeDelegated" + base + "WithRatioTC"
	}
	return "newFeeDelegated" + base + "TC"
}

func (r nativeRow) nativeCase(mode feeMode) Case {
	name := r.caseName(mode)
	desc := strings.Replace(r.what, r.types[senderPays].String(), r.types[mode].String(), 1)
	switch mode {
	case feePayerPays:
		desc += "; a fee-payer account pays"
	case feePayerShares:
		desc += fmt.Sprintf("; a fee-payer account pays %d%%", NativeFeeRatio)
	}
	return Case{
		Name: name, Description: desc, Family: "native", NeedsChains: true, NeedsFeePayers: mode != senderPays,
		New: func(ctx context.Context, env *Env) (Task, error) { return newNativeTask(ctx, env, name, r, mode) },
	}
}

// nativeTask runs one case of the native family on one chain.
type nativeTask struct {
	row   nativeRow
	mode  feeMode
	typ   types.TxType
	names txNames
	chain *chainTx
	// kv, kvAddr: the KVStore contract and the instance executions call.
	kv        *kvStore
	kvAddr    common.Address
	deployGas uint64
	setGas    uint64
	// done, if set, sees every transaction with its verdict (tests check
	// the effects).
	done func(*nativeShot)
}

// nativeShot is one iteration's transaction and what it should do.
type nativeShot struct {
	Case     string
	Type     types.TxType
	Mode     feeMode
	From     *klay.Account
	FeePayer *klay.Account // nil when the sender pays
	To       common.Address
	Value    *big.Int
	Data     []byte            // memo, anchored data, code, call data
	NewKey   *ecdsa.PrivateKey // account update: the account's new key
	Contract common.Address    // execution: the KVStore instance
	StoreKey *big.Int          // execution: KVStore.set(StoreKey, StoreValue)
	// StoreValue is what the execution writes.
	StoreValue *big.Int
	Nonce      uint64
	Tx         *types.Transaction // as sent (the cancel, for …WithCancel)
	// Transfer is the value transfer the cancel of …WithCancelTC replaces;
	// TransferFirst is set when a block took it before the cancel.
	Transfer      *types.Transaction
	TransferFirst bool
	Inc           klay.Inclusion
	Err           error // nil when a block holds it with status 1
	row           nativeRow
	endKey        func(*ecdsa.PrivateKey)
}

func newNativeTask(ctx context.Context, env *Env, name string, r nativeRow, mode feeMode) (*nativeTask, error) {
	c := env.MC
	if err := needAccounts(c); err != nil {
		return nil, err
	}
	if mode != senderPays && len(c.FeePayers) == 0 {
		return nil, fmt.Errorf("%s needs fee-payer accounts on the %s chain, and none were funded", name, c.Name)
	}
	n := &nativeTask{row: r, mode: mode, typ: r.types[mode], names: namesOf(name), chain: newChainTx(c)}
	if r.anchors {
		if err := anchoringAllowed(ctx, c); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if r.kvstore {
		if err := n.prepareKVStore(ctx, env); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return n, nil
}

// prepareKVStore loads the KVStore contract, finds the instance that
// executions call (given by -contracts, recorded, or deployed by the
// funder: contractSet) and estimates deploy and set once.
func (n *nativeTask) prepareKVStore(ctx context.Context, env *Env) error {
	kv, err := loadKVStore()
	if err != nil {
		return err
	}
	n.kv = kv
	c := n.chain.chain
	from := c.Accounts[0].Address
	g, err := c.Client.EstimateGas(ctx, klay.CallMsg{From: from, Data: kv.Bin})
	if err != nil {
		return fmt.Errorf("estimating a KVStore deployment: %w", err)
	}
	// Kaia charges native types 100 gas per payload byte, Ethereum's
	// estimate 16: add the difference.
	n.deployGas = klay.WithMargin(g) + uint64(len(kv.Bin))*params.TxDataGas
	n.kvAddr, err = newContractSet(env, c).ensure(ctx, contracts.KVStore, nil)
	if err != nil {
		return err
	}
	data := kv.mustPackSet(big.NewInt(1), big.NewInt(1))
	g, err = c.Client.EstimateGas(ctx, klay.CallMsg{From: from, To: &n.kvAddr, Data: data})
	if err != nil {
		return fmt.Errorf("estimating KVStore.set: %w", err)
	}
	// A fresh key costs a zero-to-nonzero store, which the estimate for
	// key 1 (already set... or not) may not show: take the cold price.
	n.setGas = max(klay.WithMargin(g), 80_000) + uint64(len(data))*params.TxDataGas
	return nil
}

// Run implements Task: one transaction of the row's type, decided by the
// block that holds it.
func (n *nativeTask) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	s := n.shot()
	var pair *cancelPair
	if n.row.cancels {
		pair = &cancelPair{w: n.chain.chain.Waiter}
	}
	tk, err := n.chain.sendSigned(ctx, s.From, func(nonce uint64, gp *big.Int) (*types.Transaction, error) {
		if pair != nil {
			if err := n.sendTransfer(ctx, s, pair, nonce, gp); err != nil {
				return nil, err
			}
		}
		return n.build(s, nonce, gp)
	})
	if s.endKey != nil {
		n.followKey(s, tk)
	}
	if tk != nil {
		s.Tx = tk.Tx
	}
	finish := func(inc klay.Inclusion, err error) {
		s.Inc, s.Err = inc, err
		if n.done != nil {
			n.done(s)
		}
	}
	if pair != nil {
		pair.report(ctx, it, out, n.names, s, tk, err, finish)
		return
	}
	reportTx(ctx, it, out, n.names, tk, err, nil)
	if n.done != nil {
		if tk == nil {
			finish(klay.Inclusion{}, err)
		} else {
			tk.Then(func(inc klay.Inclusion) { finish(inc, inclusionError(inc)) })
		}
	}
}

// shot draws the iteration's accounts: a sender whose key is not changing
// (so that no iteration waits out another's account update), a recipient,
// a fee payer.
func (n *nativeTask) shot() *nativeShot {
	c := n.chain.chain
	from := n.chain.from()
	for i := 0; i < len(c.Accounts) && from.KeyChanging(); i++ {
		from = n.chain.from()
	}
	s := &nativeShot{Case: n.names.iter, Type: n.typ, Mode: n.mode, From: from, row: n.row}
	s.To = otherThan(c.Accounts, from).Address
	if n.mode != senderPays {
		s.FeePayer = pick(c.FeePayers)
	}
	return s
}

// otherThan returns a random account of accs other than a when there is one.
func otherThan(accs []*klay.Account, a *klay.Account) *klay.Account {
	if len(accs) < 2 {
		return accs[0]
	}
	for {
		if b := pick(accs); b != a {
			return b
		}
	}
}

// build returns the row's transaction, signed by the sender (and the fee
// payer). An account update marks the key change in flight as it signs.
func (n *nativeTask) build(s *nativeShot, nonce uint64, gp *big.Int) (*types.Transaction, error) {
	return n.buildType(s, n.typ, n.row, nonce, gp)
}

func (n *nativeTask) buildType(s *nativeShot, typ types.TxType, row nativeRow, nonce uint64, gp *big.Int) (*types.Transaction, error) {
	s.Nonce = nonce
	m := map[types.TxValueKeyType]any{
		types.TxValueKeyNonce:    nonce,
		types.TxValueKeyFrom:     s.From.Address,
		types.TxValueKeyGasPrice: gp,
	}
	row.fill(n, s, m)
	gas := row.gas(n, s)
	switch n.mode {
	case feePayerPays:
		gas += params.TxGasFeeDelegated
		m[types.TxValueKeyFeePayer] = s.FeePayer.Address
	case feePayerShares:
		gas += params.TxGasFeeDelegatedWithRatio
		m[types.TxValueKeyFeePayer] = s.FeePayer.Address
		m[types.TxValueKeyFeeRatioOfFeePayer] = types.FeeRatio(NativeFeeRatio)
	}
	m[types.TxValueKeyGasLimit] = gas
	tx, err := types.NewTransactionWithMap(typ, m)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", typ, err)
	}
	signer := types.LatestSignerForChainID(n.chain.chain.ChainID)
	if err := tx.SignWithKeys(signer, []*ecdsa.PrivateKey{s.From.PrivateKey()}); err != nil {
		return nil, fmt.Errorf("signing %s: %w", typ, err)
	}
	if s.FeePayer != nil {
		if err := tx.SignFeePayerWithKeys(signer, []*ecdsa.PrivateKey{s.FeePayer.PrivateKey()}); err != nil {
			return nil, fmt.Errorf("fee payer signing %s: %w", typ, err)
		}
	}
	if s.NewKey != nil && typ == n.typ {
		// A refused first attempt (underpriced) left its change open.
		if s.endKey != nil {
			s.endKey(nil)
		}
		end, err := s.From.BeginKeyChange()
		if err != nil {
			return nil, err
		}
		s.endKey = end
	}
	return tx, nil
}

// followKey ends the key change of an account update once its verdict is
// in: the new key when a block holds it with status 1, the old one when it
// failed; without a verdict (not included, the run stopped) the chain says.
func (n *nativeTask) followKey(s *nativeShot, tk *klay.Ticket) {
	if tk == nil {
		s.endKey(nil)
		return
	}
	tk.Then(func(inc klay.Inclusion) {
		if inc.Err == nil {
			if inc.Status == 1 {
				s.endKey(s.NewKey)
			} else {
				s.endKey(nil)
			}
			return
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			pub, err := klay.AccountPublicKey(ctx, n.chain.chain.Client, s.From.Address)
			if err == nil && klay.SamePublicKey(pub, &s.NewKey.PublicKey) {
				s.endKey(s.NewKey)
				return
			}
			s.endKey(nil)
		}()
	})
}

// sendTransfer sends, inside the cancel's build, the value transfer the
// cancel replaces: same sender, same nonce, same fee mode. The block
// scanner follows it from before the send.
func (n *nativeTask) sendTransfer(ctx context.Context, s *nativeShot, pair *cancelPair, nonce uint64, gp *big.Int) error {
	vt := nativeRow{types: [3]types.TxType{types.TxTypeValueTransfer, types.TxTypeFeeDelegatedValueTransfer, types.TxTypeFeeDelegatedValueTransferWithRatio},
		gas: fixedGas(params.TxGasValueTransfer), fill: transferFields}
	tx, err := n.buildType(s, vt.types[n.mode], vt, nonce, gp)
	if err != nil {
		return err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	pair.track(tx)
	s.Transfer = tx
	if _, err := n.chain.chain.Client.SendRawTransaction(ctx, raw); err != nil {
		if out := klay.ClassifySendError(err); out != klay.Accepted && out != klay.Known && out != klay.Unknown {
			pair.untrack()
			s.Transfer = nil
			return &klay.SendError{Outcome: out, Err: fmt.Errorf("the transfer to cancel: %w", err)}
		}
	}
	return nil
}

// cancelPair decides a …WithCancelTC iteration: a value transfer and a
// cancel of the same nonce. The cancel normally replaces the transfer in
// the pool, and a block holds the cancel: success. A block may take the
// transfer first (the cancel reached the pool, or the proposer, too late):
// the chain did right, so that is a success too, counted aside as
// "<case> transfer first". The iteration fails when neither is included
// with status 1.
type cancelPair struct {
	w klay.Tracker

	mu      sync.Mutex
	hash    common.Hash // the transfer's, once tracked
	legs    int         // verdicts still awaited
	decided bool
	err     error // the cancel's failure
	sent    bool  // report ran
	early   []pairLeg
	s       *nativeShot
	emit    func(klay.Inclusion, error, bool)
}

type pairLeg struct {
	inc    klay.Inclusion
	cancel bool
}

func (p *cancelPair) track(tx *types.Transaction) {
	p.mu.Lock()
	p.hash = tx.Hash()
	p.mu.Unlock()
	p.w.Track(tx.Hash(), func(inc klay.Inclusion) { p.leg(pairLeg{inc: inc}) })
}

func (p *cancelPair) untrack() {
	p.mu.Lock()
	h := p.hash
	p.hash = common.Hash{}
	p.mu.Unlock()
	p.w.Untrack(h)
}

// report records the send row at once and the iteration row when the pair
// is decided.
func (p *cancelPair) report(ctx context.Context, it runner.Iteration, out stats.Sink, n txNames, s *nativeShot, tk *klay.Ticket, err error, finish func(klay.Inclusion, error)) {
	err = stopped(ctx, err)
	send := it.Result(methodSend, n.send, err)
	send.Aside = true
	out.Record(send)
	p.mu.Lock()
	p.s = s
	p.emit = func(inc klay.Inclusion, err error, transferFirst bool) {
		if errors.Is(err, klay.ErrUnconfirmed) {
			r := it.Result(methodTx, n.unconfirmed, err)
			r.Aside = true
			out.Record(r)
			finish(inc, err)
			return
		}
		end := inc.Time
		if err != nil || end.IsZero() {
			end = time.Now()
		}
		out.Record(it.ResultAt(end, methodTx, n.iter, err))
		if transferFirst {
			r := it.ResultAt(end, methodTx, n.iter+" transfer first", nil)
			r.Aside = true
			out.Record(r)
		}
		finish(inc, err)
	}
	if p.hash != (common.Hash{}) {
		p.legs++
	}
	p.legs++
	p.sent = true
	early := p.early
	p.early = nil
	p.mu.Unlock()
	for _, l := range early {
		p.leg(l)
	}
	if tk == nil {
		p.leg(pairLeg{inc: klay.Inclusion{Err: err}, cancel: true})
		return
	}
	tk.Then(func(inc klay.Inclusion) { p.leg(pairLeg{inc: inc, cancel: true}) })
}

// leg takes one transaction's verdict.
func (p *cancelPair) leg(l pairLeg) {
	p.mu.Lock()
	if !p.sent {
		// The transfer's block came before the cancel's send returned.
		p.early = append(p.early, l)
		p.mu.Unlock()
		return
	}
	if p.decided {
		p.mu.Unlock()
		return
	}
	p.legs--
	ierr := inclusionError(l.inc)
	if l.cancel && ierr != nil {
		p.err = ierr
	}
	if ierr != nil && p.legs > 0 {
		p.mu.Unlock()
		return
	}
	p.decided = true
	h, s, emit := p.hash, p.s, p.emit
	p.mu.Unlock()
	if ierr == nil && l.cancel && h != (common.Hash{}) {
		p.w.Untrack(h) // replaced: no block will hold it
	}
	if ierr != nil {
		emit(l.inc, p.err, false)
		return
	}
	if !l.cancel {
		s.TransferFirst = true
	}
	emit(l.inc, nil, !l.cancel)
}

// errAnchoringRefused: the node refuses anchoring transactions sent to it.
var errAnchoringRefused = errors.New("refuses locally sent chain-data anchoring transactions; start it with --txpool.allow-local-anchortx")

// anchoringAllowed asks the node to take an anchoring transaction from a
// fresh, empty account: a node that takes anchoring transactions refuses
// it for want of funds, one that does not says so first (Kaia checks that
// before anything else).
func anchoringAllowed(ctx context.Context, c *Chain) error {
	key, err := crypto.GenerateKey()
	if err != nil {
		return err
	}
	gp, err := c.Client.GasPrice(ctx)
	if err != nil {
		return err
	}
	tx, err := types.NewTransactionWithMap(types.TxTypeChainDataAnchoring, map[types.TxValueKeyType]any{
		types.TxValueKeyNonce: uint64(0), types.TxValueKeyFrom: klay.KeyAddress(key), types.TxValueKeyGasLimit: uint64(100_000),
		types.TxValueKeyGasPrice: gp, types.TxValueKeyAnchoredData: anchoringData(),
	})
	if err != nil {
		return err
	}
	if err := tx.SignWithKeys(types.LatestSignerForChainID(c.ChainID), []*ecdsa.PrivateKey{key}); err != nil {
		return err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return err
	}
	if _, err := c.Client.SendRawTransaction(ctx, raw); err != nil && strings.Contains(err.Error(), "anchoring chaindata tx is not allowed") {
		return fmt.Errorf("the %s-chain node %s %w", c.Name, c.Client.URL(), errAnchoringRefused)
	}
	return nil
}

// transferFields fills a value transfer to s.To.
func transferFields(_ *nativeTask, s *nativeShot, m map[types.TxValueKeyType]any) {
	s.Value = transferValue()
	m[types.TxValueKeyTo] = s.To
	m[types.TxValueKeyAmount] = s.Value
}

// fixedGas is a row's gas for a type without payload.
func fixedGas(g uint64) func(*nativeTask, *nativeShot) uint64 {
	return func(*nativeTask, *nativeShot) uint64 { return g }
}

// payloadGas is a row's gas: base plus Kaia's 100 per payload byte.
func payloadGas(base uint64) func(*nativeTask, *nativeShot) uint64 {
	return func(_ *nativeTask, s *nativeShot) uint64 { return base + uint64(len(s.Data))*params.TxDataGas }
}

const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomText returns n random letters and digits (kaia-load-tester's
// memos).
func randomText(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return b
}

// anchoringData returns the RLP of a type-0 anchoring (what a service
// chain anchors of its block) with made-up hashes.
func anchoringData() []byte {
	h := func() common.Hash { return common.BytesToHash(crypto.Keccak256(randomText(32))) }
	inner, _ := rlp.EncodeToBytes(&types.AnchoringDataInternalType0{BlockHash: h(), TxHash: h(), ParentHash: h(),
		ReceiptHash: h(), StateRootHash: h(), BlockNumber: big.NewInt(rand.Int64N(1 << 40)), BlockCount: big.NewInt(1), TxCount: big.NewInt(1)})
	b, _ := rlp.EncodeToBytes(&types.AnchoringData{Type: types.AnchoringDataType0, Data: inner})
	return b
}

// kvStore is the KVStore contract: set(uint256,uint256), store at slot 0.
type kvStore struct{ *contracts.Contract }

func loadKVStore() (*kvStore, error) {
	c, err := contracts.Load(contracts.KVStore)
	if err != nil {
		return nil, err
	}
	return &kvStore{c}, nil
}

func (k *kvStore) mustPackSet(key, value *big.Int) []byte {
	b, err := k.ABI.Pack("set", key, value)
	if err != nil {
		panic(err) // the ABI is embedded: set(uint256,uint256) is there
	}
	return b
}

// kvSlot is the storage slot of store[key]: keccak256(key . 0).
func kvSlot(key *big.Int) common.Hash {
	return crypto.Keccak256Hash(common.LeftPadBytes(key.Bytes(), 32), make([]byte, 32))
}
