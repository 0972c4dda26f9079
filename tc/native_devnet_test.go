package tc

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
)

// Spare dev keys of the catalogue's main-chain families (see
// devnettest.MinSpare): one per test, so that they may run in parallel.
const (
	spareNative   = 6
	spareEthereum = 7
)

// mainChainEnv funds n test accounts and n fee payers on the devnet's main
// chain from spare dev key `spare`, with a scanner and lanes as cmd sets
// them up. The funds go back to the spare key when the test ends: the
// sweep is part of what the families must keep working.
func mainChainEnv(t *testing.T, spare, n int) *Env {
	t.Helper()
	d := devnettest.Load(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := klay.Dial(ctx, d.MainChain.RPC, 32)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.ChainID(ctx)
	if err != nil {
		t.Fatalf("devnet main chain at %s does not answer: %v", d.MainChain.RPC, err)
	}
	k, err := klay.ParseKey(d.DevKeys.Spare[spare])
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e9)
	accs, err := klay.DeriveAccounts(k, runID[max(0, len(runID)-60):], 0, 2*n, c)
	if err != nil {
		t.Fatal(err)
	}
	funder := klay.NewAccount(k, c)
	if _, err := klay.Fund(ctx, c, funder, klay.Addresses(accs), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)), klay.FundOptions{}); err != nil {
		t.Fatalf("funding main-chain test accounts: %v", err)
	}
	ch := &Chain{Name: "main", Client: c, ChainID: id, Funder: funder, Accounts: accs[:n], FeePayers: accs[n:]}
	track(t, ch)
	// One KVStore per test, recorded in its own state directory.
	return &Env{MCEndpoint: d.MainChain.RPC, MC: ch, StateDir: t.TempDir()}
}

// sweepBack returns the accounts' funds to the funder and fails when one
// of them cannot be swept (an updated key the account no longer signs
// with, say).
func sweepBack(t *testing.T, ch *Chain) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	all := append(append([]*klay.Account{}, ch.Accounts...), ch.FeePayers...)
	res, err := klay.Sweep(ctx, ch.Client, ch.Funder.Address, all, klay.SweepOptions{Waiter: ch.Waiter})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if res.Swept+res.Empty != len(all) || res.Left.Cmp(big.NewInt(1e15)) > 0 {
		t.Fatalf("sweep: %d swept, %d empty of %d accounts; %s peb left", res.Swept, res.Empty, len(all), res.Left)
	}
}

// shots collects native iterations' transactions with their verdicts.
type shots struct {
	mu  sync.Mutex
	all []*nativeShot
}

func (s *shots) add(x *nativeShot) { s.mu.Lock(); s.all = append(s.all, x); s.mu.Unlock() }

func (s *shots) list() []*nativeShot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*nativeShot(nil), s.all...)
}

// loadFor runs task at one iteration per period for d.
func loadFor(ctx context.Context, task Task, rec *counts, period, d time.Duration) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	end := time.After(d)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		wg.Add(1)
		go func() { defer wg.Done(); iterate(ctx, task, rec) }()
		select {
		case <-tick.C:
		case <-end:
			return
		case <-ctx.Done():
			return
		}
	}
}

// TestNativeFamilyE2E runs every native case at once for 10 s, half an
// iteration per second each (15 tx/s in all), and checks that every
// iteration succeeded, that a block holds each transaction with status 1,
// and each transaction's effect on chain. Then, one at a time, a value
// transfer of each fee mode and every …WithRatioTC case, whose balance
// changes must be exact: the fee split by the ratio to the peb. The
// updated accounts keep working: they send in the load after their update,
// and the sweep at the end signs with their new keys.
func TestNativeFamilyE2E(t *testing.T) {
	env := mainChainEnv(t, spareNative, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	original := map[common.Address]*ecdsa.PrivateKey{}
	for _, a := range env.MC.Accounts {
		original[a.Address] = a.PrivateKey()
	}
	var got shots
	rec := newCounts()
	tasks := map[string]*nativeTask{}
	for _, c := range nativeFamily() {
		task, err := c.New(ctx, env)
		if errors.Is(err, errAnchoringRefused) && os.Getenv(devnettest.EnvRequire) == "" {
			// A devnet started before `devnet up` passed the flag.
			t.Logf("%s not run: %v", c.Name, err)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		nt := task.(*nativeTask)
		nt.done = got.add
		tasks[c.Name] = nt
	}
	var wg sync.WaitGroup
	for _, task := range tasks {
		wg.Add(1)
		go func() { defer wg.Done(); loadFor(ctx, task, rec, 2*time.Second, 10*time.Second) }()
	}
	wg.Wait()
	settle(t, env)
	rec.failures(t)
	perCase := map[string]int{}
	for _, s := range got.list() {
		perCase[s.Case]++
		if err := s.row.check(ctx, env.MC, s); err != nil {
			t.Error(err)
		}
	}
	for name := range tasks {
		if ok, _ := rec.get(name); ok < 4 || perCase[name] != ok {
			t.Errorf("%s: %d successes, %d transactions seen; want 4 or more, one per success", name, ok, perCase[name])
		}
	}
	first, _ := rec.get("newValueTransferWithCancelTC transfer first")
	t.Logf("%d transactions; …WithCancelTC: a block took the transfer before the cancel %d times", len(got.list()), first)
	checkKeys(t, env.MC, original)
	if t.Failed() {
		return
	}

	// One transaction at a time: exact balance changes.
	for name, task := range tasks {
		if name != "newValueTransferTC" && !strings.HasPrefix(name, "newFeeDelegatedValueTransferTC") && !strings.HasSuffix(name, "WithRatioTC") {
			continue
		}
		t.Run(name, func(t *testing.T) { exactFees(t, ctx, env, task) })
	}
	sweepBack(t, env.MC)
}

// checkKeys: every account's key on chain is the one it signs with now,
// and `klayslave sweep -run` would find it from the original key.
func checkKeys(t *testing.T, c *Chain, original map[common.Address]*ecdsa.PrivateKey) {
	t.Helper()
	updated := 0
	for _, a := range c.Accounts {
		pub, err := klay.AccountPublicKey(context.Background(), c.Client, a.Address)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Decoupled() {
			if pub != nil {
				t.Errorf("%s: the chain holds a public key, the account still signs with its own", a.Address.Hex())
			}
			continue
		}
		updated++
		if !klay.SamePublicKey(pub, &a.PrivateKey().PublicKey) {
			t.Errorf("%s: the chain's key is not the one the account signs with", a.Address.Hex())
		}
		k, err := klay.RecoverKey(context.Background(), c.Client, original[a.Address], 1000)
		if err != nil || klay.KeyHex(k) != klay.KeyHex(a.PrivateKey()) {
			t.Errorf("%s: the key recovered from the original is not the one the account signs with (%v)", a.Address.Hex(), err)
		}
	}
	t.Logf("%d of %d accounts have an updated key", updated, len(c.Accounts))
}

// nodeReceipt returns the node's receipt of s's transaction, which must
// agree with its verdict: the verdict's own may be one the block's header
// proved, which holds no price (klay.TrackHooks.Proven).
func nodeReceipt(t *testing.T, ctx context.Context, c *Chain, s *nativeShot) *klay.Receipt {
	t.Helper()
	r, err := c.Client.TransactionReceipt(ctx, s.Tx.Hash())
	if err != nil {
		t.Fatal(err)
	}
	if r.GasUsed != s.Inc.GasUsed || r.Status != s.Inc.Status || r.BlockNumber != s.Inc.Block {
		t.Fatalf("the node's receipt (block %d, status %d, gas %d) is not the verdict's (%d, %d, %d)",
			r.BlockNumber, r.Status, r.GasUsed, s.Inc.Block, s.Inc.Status, s.Inc.GasUsed)
	}
	return r
}

// exactFees runs one iteration of task alone and checks every account's
// balance change: the value moves from sender to recipient; the fee
// (gasUsed × effective price) falls on the sender, the fee payer or both,
// split by the ratio exactly as Kaia does (buy the gas limit, refund the
// rest, each split by the ratio).
func exactFees(t *testing.T, ctx context.Context, env *Env, task *nativeTask) {
	c := env.MC
	all := append(append([]*klay.Account{}, c.Accounts...), c.FeePayers...)
	before, err := c.Client.BalancesAt(ctx, klay.Addresses(all))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *nativeShot, 1)
	task.done = func(s *nativeShot) { ch <- s }
	rec := newCounts()
	iterate(ctx, task, rec)
	var s *nativeShot
	select {
	case s = <-ch:
	case <-ctx.Done():
		t.Fatal("no verdict")
	}
	settle(t, env)
	rec.failures(t)
	if err := s.row.check(ctx, c, s); err != nil {
		t.Fatal(err)
	}
	after, err := c.Client.BalancesAt(ctx, klay.Addresses(all))
	if err != nil {
		t.Fatal(err)
	}
	if s.row.cancels && s.TransferFirst {
		t.Skip("a block took the transfer before the cancel: the cancel's fee split cannot be seen")
	}
	r := nodeReceipt(t, ctx, c, s)
	price := r.EffectiveGasPrice
	if price == nil {
		price = r.GasPrice
	}
	limit := s.Tx.Gas()
	bought := new(big.Int).Mul(new(big.Int).SetUint64(limit), price)
	refund := new(big.Int).Mul(new(big.Int).SetUint64(limit-r.GasUsed), price)
	fee := new(big.Int).Sub(bought, refund)
	payerFee := new(big.Int)
	switch s.Mode {
	case feePayerPays:
		payerFee.Set(fee)
	case feePayerShares:
		b, _ := types.CalcFeeWithRatio(NativeFeeRatio, bought)
		rf, _ := types.CalcFeeWithRatio(NativeFeeRatio, refund)
		payerFee.Sub(b, rf)
		if want := new(big.Int).Div(new(big.Int).Mul(fee, big.NewInt(NativeFeeRatio)), big.NewInt(100)); payerFee.Cmp(want) != 0 {
			t.Logf("rounding: the fee payer pays %s, %d%% of the fee is %s", payerFee, NativeFeeRatio, want)
		}
	}
	want := map[common.Address]*big.Int{}
	add := func(a common.Address, d *big.Int) {
		if want[a] == nil {
			want[a] = new(big.Int)
		}
		want[a].Add(want[a], d)
	}
	value := new(big.Int)
	if s.Value != nil && !s.row.cancels {
		value = s.Value
	}
	add(s.From.Address, new(big.Int).Neg(value))
	add(s.To, value)
	add(s.From.Address, new(big.Int).Neg(new(big.Int).Sub(fee, payerFee)))
	if s.FeePayer != nil {
		add(s.FeePayer.Address, new(big.Int).Neg(payerFee))
	}
	for i, a := range all {
		got := new(big.Int).Sub(after[i], before[i])
		w := want[a.Address]
		if w == nil {
			w = new(big.Int)
		}
		if got.Cmp(w) != 0 {
			t.Errorf("%s: balance of %s moved %s peb, want %s (fee %s, fee payer's part %s)", s.Case, a.Address.Hex(), got, w, fee, payerFee)
		}
	}
	if s.Mode == feePayerShares {
		t.Logf("fee %s peb: sender %s, fee payer %s (%d%%)", fee, new(big.Int).Sub(fee, payerFee), payerFee, NativeFeeRatio)
	}
}

// TestEthereumFamilyE2E runs the three Ethereum types at once for 10 s,
// two iterations per second each (each a random transfer, deployment or
// KVStore.set), and checks every transaction's block, status, type and
// effect; access-list calls must carry the KVStore's address, dynamic-fee
// transactions the node's tip. Then one transfer per type alone, whose
// balance changes must be exact.
func TestEthereumFamilyE2E(t *testing.T) {
	env := mainChainEnv(t, spareEthereum, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var got shots
	rec := newCounts()
	tasks := map[string]*ethTask{}
	for _, c := range ethereumFamily() {
		task, err := c.New(ctx, env)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		et := task.(*ethTask)
		et.done = got.add
		tasks[c.Name] = et
	}
	var wg sync.WaitGroup
	for _, task := range tasks {
		wg.Add(1)
		go func() { defer wg.Done(); loadFor(ctx, task, rec, 500*time.Millisecond, 10*time.Second) }()
	}
	wg.Wait()
	settle(t, env)
	rec.failures(t)
	perCase := map[string]int{}
	tip, _, err := tasks["ethereumTxDynamicFeeTC"].fees.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got.list() {
		perCase[s.Case]++
		if err := s.row.check(ctx, env.MC, s); err != nil {
			t.Error(err)
		}
		if s.Tx == nil {
			continue
		}
		switch s.Type {
		case types.TxTypeEthereumAccessList:
			if s.Contract != (common.Address{}) && !listHas(s.Tx.AccessList(), s.Contract) {
				t.Errorf("%s: the access list of %s lacks KVStore %s", s.Case, s.Tx.Hash().Hex(), s.Contract.Hex())
			}
		case types.TxTypeEthereumDynamicFee:
			if s.Tx.GasTipCap().Cmp(tip) != 0 || s.Tx.GasFeeCap().Cmp(s.Tx.GasTipCap()) <= 0 {
				t.Errorf("%s: %s has tip %s and cap %s; the node's tip is %s", s.Case, s.Tx.Hash().Hex(), s.Tx.GasTipCap(), s.Tx.GasFeeCap(), tip)
			}
		}
	}
	for name := range tasks {
		if ok, _ := rec.get(name); ok < 15 || perCase[name] != ok {
			t.Errorf("%s: %d successes, %d transactions seen; want 15 or more, one per success", name, ok, perCase[name])
		}
	}
	t.Logf("%d transactions", len(got.list()))
	if t.Failed() {
		return
	}
	for name, task := range tasks {
		t.Run(name, func(t *testing.T) {
			task.action = func() int { return ethTransfer }
			exactTransfer(t, ctx, env, task)
		})
	}
	sweepBack(t, env.MC)
}

func listHas(l types.AccessList, a common.Address) bool {
	for _, t := range l {
		if t.Address == a {
			return true
		}
	}
	return false
}

// exactTransfer runs one transfer of task alone: the recipient gains the
// value, the sender loses the value and gasUsed × the effective price.
func exactTransfer(t *testing.T, ctx context.Context, env *Env, task *ethTask) {
	c := env.MC
	before, err := c.Client.BalancesAt(ctx, klay.Addresses(c.Accounts))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *nativeShot, 1)
	task.done = func(s *nativeShot) { ch <- s }
	rec := newCounts()
	iterate(ctx, task, rec)
	var s *nativeShot
	select {
	case s = <-ch:
	case <-ctx.Done():
		t.Fatal("no verdict")
	}
	settle(t, env)
	rec.failures(t)
	if s.Err != nil {
		t.Fatal(s.Err)
	}
	after, err := c.Client.BalancesAt(ctx, klay.Addresses(c.Accounts))
	if err != nil {
		t.Fatal(err)
	}
	fee := nodeReceipt(t, ctx, c, s).Fee()
	for i, a := range c.Accounts {
		got, want := new(big.Int).Sub(after[i], before[i]), new(big.Int)
		switch a.Address {
		case s.From.Address:
			want.Neg(new(big.Int).Add(s.Value, fee))
		case s.To:
			want.Set(s.Value)
		}
		if got.Cmp(want) != 0 {
			t.Errorf("%s: balance of %s moved %s peb, want %s (fee %s)", s.Case, a.Address.Hex(), got, want, fee)
		}
	}
}
