package tc

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

// TestExecRowsAreWellFormed checks every row's call packs with its ABI.
func TestExecRowsAreWellFormed(t *testing.T) {
	accs := make([]*klay.Account, 3)
	for i := range accs {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		accs[i] = klay.NewAccount(k, nil)
	}
	for _, r := range execRows() {
		k := mustLoad(t, r.contract)
		for _, worst := range []bool{true, false} {
			m, args := r.call(accs[0], accs, worst)
			if _, err := k.ABI.Pack(m, args...); err != nil {
				t.Errorf("%s: %s%v: %v", r.name, m, args, err)
			}
		}
	}
}

// TestExecutionFamilyE2E runs every case of the execution family together
// on the devnet for familyRun each: every call is included with status 1
// and its effect is on chain.
func TestExecutionFamilyE2E(t *testing.T) {
	env := mainEnv(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	mc := env.MC

	// A given address without code is named, with the contract missing.
	nowhere := common.HexToAddress("0x5e11e7000000000000000000000000000000abcd")
	env.Contracts = map[string]common.Address{contracts.KVStore: nowhere}
	var missing *MissingContractError
	if _, err := newExecTask(ctx, env, execRows()[1]); !errors.As(err, &missing) || missing.Contract != contracts.KVStore || missing.Address != nowhere {
		t.Fatalf("KVStore given at an address without code: %v, want a MissingContractError naming it", err)
	}
	env.Contracts = nil

	tasks := map[string]*execTask{}
	sent := map[string]*tickets{}
	var all []Task
	for _, c := range execCases() {
		task := newCase(t, ctx, env, execCases(), c.Name).(*execTask)
		s := &tickets{}
		task.sent = s.add
		tasks[c.Name], sent[c.Name] = task, s
		all = append(all, task)
	}
	// The storage cases share one KVStore: set-up recorded and reused it.
	if a, b := tasks["storageTrieWriteTC"].to, tasks["userStorageSetTx"].to; a != b {
		t.Errorf("storage cases use KVStores %s and %s, want one reused", a.Hex(), b.Hex())
	}
	// internalTxTC pays its hosts' share to a fresh address, to see the
	// internal transfers in its balance.
	host := common.BytesToAddress(crypto.Keccak256([]byte(t.Name() + time.Now().String()))[:20])
	itx := tasks["internalTxTC"]
	call := itx.call
	itx.call = func(from *klay.Account, accs []*klay.Account, worst bool) (string, []any) {
		m, args := call(from, accs, worst)
		args[1] = host
		return m, args
	}
	nft := tasks["mintNFTTC"].to
	if got := viewAddr(t, mc, contracts.InternalTx, itx.to, "token"); got != nft {
		t.Fatalf("internalTxTC mints through %s, mintNFTTC through %s", got.Hex(), nft.Hex())
	}
	minted0 := viewBig(t, mc, contracts.ERC721, nft, "minted")

	rec := newCounts()
	pace(ctx, all, familyRate, familyRun, rec)
	settle(t, env)
	rec.failures(t)
	for name, s := range sent {
		checkIncluded(t, rec, name, len(s.all))
	}
	n := func(name string) int64 { return int64(len(sent[name].all)) }

	if got := viewBig(t, mc, contracts.CPUHeavy, tasks["cpuHeavyTx"].to, "runs"); got.Int64() != n("cpuHeavyTx") {
		t.Errorf("CPUHeavy ran %v times, want %d", got, n("cpuHeavyTx"))
	}

	// Storage writes: each written slot holds a value written to it (the
	// value, when the key was written once).
	kv := mustLoad(t, contracts.KVStore)
	written := map[string][]*big.Int{}
	for _, name := range []string{"storageTrieWriteTC", "ycsbSetTx", "userStorageSetTx"} {
		for _, tk := range sent[name].all {
			args, err := kv.ABI.Methods["set"].Inputs.Unpack(tk.Tx.Data()[4:])
			if err != nil {
				t.Fatal(err)
			}
			k := common.BigToHash(args[0].(*big.Int))
			written[k.Hex()] = append(written[k.Hex()], args[1].(*big.Int))
		}
	}
	for key, vals := range written {
		// store is slot 0: key k lives at keccak256(k . 0).
		slot := crypto.Keccak256Hash(common.HexToHash(key).Bytes(), common.Hash{}.Bytes())
		var word hexutil.Bytes
		if err := mc.Client.Call(ctx, &word, "klay_getStorageAt", tasks["ycsbSetTx"].to, slot, "latest"); err != nil {
			t.Fatal(err)
		}
		got, found := new(big.Int).SetBytes(word), false
		for _, v := range vals {
			found = found || v.Cmp(got) == 0
		}
		if !found || (len(vals) == 1 && vals[0].Cmp(got) != 0) {
			t.Errorf("storage slot of key %s holds %v, written %v", key, got, vals)
		}
	}

	// Internal transactions: the host got its share of every call, and
	// every mint (sendRewards's and mintCard's) happened.
	v := big.NewInt(TransferValuePeb)
	share := new(big.Int).Sub(v, new(big.Int).Div(v, big.NewInt(2)))
	got, err := mc.Client.BalanceAt(ctx, host, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := new(big.Int).Mul(share, big.NewInt(n("internalTxTC"))); got.Cmp(want) != 0 {
		t.Errorf("host balance %v, want %v from %d internal transfers", got, want, n("internalTxTC"))
	}
	if got := viewBig(t, mc, contracts.InternalTx, itx.to, "rewards"); got.Int64() != n("internalTxTC") {
		t.Errorf("InternalTx rewarded %v times, want %d", got, n("internalTxTC"))
	}
	minted := new(big.Int).Sub(viewBig(t, mc, contracts.ERC721, nft, "minted"), minted0)
	if minted.Int64() != n("internalTxTC")+n("mintNFTTC") {
		t.Errorf("%v tokens minted, want %d", minted, n("internalTxTC")+n("mintNFTTC"))
	}

	// Large calldata: the input of each transaction is the call sent.
	lc := tasks["largeMemoTC"]
	for _, tk := range sent["largeMemoTC"].all[:min(5, len(sent["largeMemoTC"].all))] {
		var tx struct {
			Input hexutil.Bytes `json:"input"`
		}
		if err := mc.Client.Call(ctx, &tx, "klay_getTransactionByHash", tk.Tx.Hash()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tx.Input, tk.Tx.Data()) || len(tx.Input) < largeCalldataMin {
			t.Errorf("tx %s input has %d bytes, sent %d", tk.Tx.Hash().Hex(), len(tx.Input), len(tk.Tx.Data()))
		}
	}
	if got := viewBig(t, mc, contracts.LargeCalldata, lc.to, "calls"); got.Int64() != n("largeMemoTC") {
		t.Errorf("LargeCalldata took %v calls, want %d", got, n("largeMemoTC"))
	}
	for name, s := range sent {
		t.Logf("%s: %d included", name, len(s.all))
	}

	// A given address with code is used as it is, nothing deployed.
	given := tasks["cpuHeavyTx"].to
	env.Contracts, env.StateDir = map[string]common.Address{contracts.CPUHeavy: given}, ""
	again, err := newExecTask(ctx, env, execRows()[0])
	if err != nil || again.to != given {
		t.Errorf("cpuHeavyTx with CPUHeavy given at %s: uses %v, %v", given.Hex(), again, err)
	}
}

func viewAddr(t *testing.T, c *Chain, name string, to common.Address, method string, args ...any) common.Address {
	t.Helper()
	a, err := klay.ViewAddress(context.Background(), c.Client, mustLoad(t, name).ABI, to, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
