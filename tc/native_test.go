package tc

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/blockchain/types/accountkey"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
)

// keyPicker is the chain's account keys, as the node's state would give
// them to Kaia's signature validation.
type keyPicker map[common.Address]accountkey.AccountKey

func (p keyPicker) GetKey(a common.Address) accountkey.AccountKey {
	if k, ok := p[a]; ok {
		return k
	}
	return accountkey.NewAccountKeyLegacy()
}

func (p keyPicker) Exist(common.Address) bool { return true }

func testAccount(t *testing.T) *klay.Account {
	t.Helper()
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return klay.NewAccount(k, nil)
}

// offlineTask is a native task over a chain that is never dialled.
func offlineTask(t *testing.T, r nativeRow, mode feeMode) *nativeTask {
	t.Helper()
	kv, err := loadKVStore()
	if err != nil {
		t.Fatal(err)
	}
	return &nativeTask{row: r, mode: mode, typ: r.types[mode], names: namesOf(r.caseName(mode)),
		chain: &chainTx{chain: &Chain{Name: "main", ChainID: big.NewInt(1001)}},
		kv:    kv, kvAddr: common.HexToAddress("0x00000000000000000000000000000000000000aa"), deployGas: 1_000_000, setGas: 100_000}
}

// TestNativeRowsBuildSignedTransactions: every row, in every fee mode,
// builds a transaction of its type that survives encoding, whose sender
// (and fee payer) Kaia's validation recovers, and which carries what the
// row's check looks for. An account that an update decoupled signs with
// its new key, which the chain's AccountKeyPublic accepts.
func TestNativeRowsBuildSignedTransactions(t *testing.T) {
	gp := big.NewInt(25_000_000_000)
	for _, r := range nativeRows() {
		for mode := senderPays; mode <= feePayerShares; mode++ {
			t.Run(r.caseName(mode), func(t *testing.T) {
				n := offlineTask(t, r, mode)
				from, to, fp := testAccount(t), testAccount(t), testAccount(t)
				picker := keyPicker{}
				if strings.Contains(r.name, "Memo") { // and a decoupled sender
					from.SetKey(klay.NextKey(from.PrivateKey()))
					picker[from.Address] = accountkey.NewAccountKeyPublicWithValue(&from.PrivateKey().PublicKey)
				}
				s := &nativeShot{Case: n.names.iter, Type: n.typ, Mode: mode, From: from, To: to.Address, row: r}
				if mode != senderPays {
					s.FeePayer = fp
				}
				tx, err := n.build(s, 7, gp)
				if err != nil {
					t.Fatal(err)
				}
				if s.endKey != nil {
					if !from.KeyChanging() {
						t.Fatal("an account update left the key change closed")
					}
					s.endKey(s.NewKey)
				}
				raw, err := tx.MarshalBinary()
				if err != nil {
					t.Fatal(err)
				}
				var back types.Transaction
				if err := back.UnmarshalBinary(raw); err != nil {
					t.Fatal(err)
				}
				if back.Type() != r.types[mode] || back.Hash() != tx.Hash() || back.Nonce() != 7 {
					t.Fatalf("decoded %s nonce %d hash %s; sent %s nonce 7 hash %s", back.Type(), back.Nonce(), back.Hash().Hex(), r.types[mode], tx.Hash().Hex())
				}
				signer := types.LatestSignerForChainID(big.NewInt(1001))
				if _, err := back.ValidateSender(signer, picker, 1); err != nil {
					t.Fatalf("sender signature: %v", err)
				}
				if back.ValidatedSender() != from.Address {
					t.Fatalf("sender %s, want %s", back.ValidatedSender().Hex(), from.Address.Hex())
				}
				if mode != senderPays {
					if _, err := back.ValidateFeePayer(signer, picker, 1); err != nil {
						t.Fatalf("fee payer signature: %v", err)
					}
					if back.ValidatedFeePayer() != fp.Address {
						t.Fatalf("fee payer %s, want %s", back.ValidatedFeePayer().Hex(), fp.Address.Hex())
					}
					if ratio, ok := back.FeeRatio(); (mode == feePayerShares) != ok || (ok && ratio != NativeFeeRatio) {
						t.Fatalf("fee ratio %d (%v)", ratio, ok)
					}
				}
				if s.Data != nil && !r.anchors && !bytes.Equal(back.Data(), s.Data) {
					t.Fatalf("payload %d bytes, want the %d drawn", len(back.Data()), len(s.Data))
				}
				if r.anchors {
					if _, err := types.DecodeAnchoringData(back.Data()); err != nil {
						t.Fatalf("anchored data does not decode: %v", err)
					}
				}
				if s.NewKey != nil && from.PrivateKey() != s.NewKey {
					t.Fatal("after the update's success the account does not sign with its new key")
				}
			})
		}
	}
}

// TestNativeNamesAreKaiaLoadTesters: the names QA's -tc lines use resolve,
// and newAccountCreationTC is one line saying why it cannot run.
func TestNativeNamesAreKaiaLoadTesters(t *testing.T) {
	reg := Builtin()
	for _, name := range []string{"newValueTransferTC", "newValueTransferMemoTC", "newValueTransferSmallMemoTC",
		"newValueTransferLargeMemoTC", "newAccountUpdateTC", "newSmartContractDeployTC", "newSmartContractExecutionTC",
		"newCancelTC", "newValueTransferWithCancelTC", "newFeeDelegatedValueTransferTC", "newFeeDelegatedValueTransferWithRatioTC",
		"newFeeDelegatedValueTransferMemoTC", "newFeeDelegatedValueTransferMemoWithRatioTC", "newFeeDelegatedAccountUpdateTC",
		"newFeeDelegatedAccountUpdateWithRatioTC", "newFeeDelegatedSmartContractDeployTC", "newFeeDelegatedSmartContractDeployWithRatioTC",
		"newFeeDelegatedSmartContractExecutionTC", "newFeeDelegatedSmartContractExecutionWithRatioTC", "newFeeDelegatedCancelTC",
		"newFeeDelegatedCancelWithRatioTC", "newChainDataAnchoringTC", "ethereumTxLegacyTC", "ethereumTxAccessListTC",
		"ethereumTxDynamicFeeTC", "newEthereumAccessListTC", "newEthereumDynamicFeeTC"} {
		c, ok := reg.Lookup(name)
		if !ok {
			t.Errorf("%s is not a case", name)
			continue
		}
		if c.Family != "native" && c.Family != "ethereum" {
			t.Errorf("%s: family %q", name, c.Family)
		}
		if c.NeedsFeePayers != strings.HasPrefix(c.Name, "newFeeDelegated") {
			t.Errorf("%s: NeedsFeePayers %v", name, c.NeedsFeePayers)
		}
	}
	_, err := reg.Parse("newValueTransferTC,newAccountCreationTC")
	if err == nil || !strings.Contains(err.Error(), "no TxTypeAccountCreation") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("newAccountCreationTC: %v", err)
	}
}

// fakeTracker is the block scanner's Track/Untrack, driven by the test.
type fakeTracker struct {
	mu      sync.Mutex
	tracked map[common.Hash]func(klay.Inclusion)
}

func (f *fakeTracker) Track(h common.Hash, done func(klay.Inclusion)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tracked == nil {
		f.tracked = map[common.Hash]func(klay.Inclusion){}
	}
	f.tracked[h] = done
}

func (f *fakeTracker) Untrack(h common.Hash) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.tracked[h]
	delete(f.tracked, h)
	return ok
}

func (f *fakeTracker) Head() uint64 { return 0 }

func (f *fakeTracker) resolve(h common.Hash, inc klay.Inclusion) {
	f.mu.Lock()
	done := f.tracked[h]
	delete(f.tracked, h)
	f.mu.Unlock()
	done(inc)
}

// TestCancelPairVerdicts: the transfer+cancel iteration succeeds when a
// block takes either with status 1 (the transfer first is counted aside),
// fails when neither, and whatever the order of the verdicts.
func TestCancelPairVerdicts(t *testing.T) {
	vt := types.NewTransaction(1, common.Address{1}, big.NewInt(1), 21000, big.NewInt(1), nil)
	refused := errors.New("nonce too low")
	for _, c := range []struct {
		name      string
		vtFirst   bool // the transfer's block before the cancel's send returns
		vt        klay.Inclusion
		wantOK    bool
		wantFirst bool
	}{
		{"transfer mined before the cancel's send", true, klay.Inclusion{Status: 1, Time: time.Now()}, true, true},
		{"transfer mined after", false, klay.Inclusion{Status: 1, Time: time.Now()}, true, true},
		{"transfer reverted", false, klay.Inclusion{Status: 0}, false, false},
		{"transfer not included", true, klay.Inclusion{Err: klay.ErrNotIncluded}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &fakeTracker{}
			p := &cancelPair{w: tr}
			p.track(vt)
			if c.vtFirst {
				tr.resolve(vt.Hash(), c.vt)
			}
			rec := newCounts()
			var s nativeShot
			var fin int
			now := time.Now()
			p.report(context.Background(), runner.Iteration{Due: now, Start: now}, rec, namesOf("x"), &s, nil, refused,
				func(klay.Inclusion, error) { fin++ })
			if !c.vtFirst {
				tr.resolve(vt.Hash(), c.vt)
			}
			ok, fail := rec.get("x")
			first, _ := rec.get("x transfer first")
			if fin != 1 || ok+fail != 1 || (ok == 1) != c.wantOK || (first == 1) != c.wantFirst || s.TransferFirst != c.wantFirst {
				t.Fatalf("finished %d, ok %d, failed %d, transfer first %d (%v)", fin, ok, fail, first, s.TransferFirst)
			}
			if !c.wantOK && !strings.Contains(rec.errs["x"], "nonce too low") {
				t.Fatalf("error %q, want the cancel's", rec.errs["x"])
			}
		})
	}
}
