package klay

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

// TestKeyChange: while an account update awaits its block the account
// signs nothing and WaitKey waits; the verdict's key is then the signing
// key, and a decoupled account's transfers (sweep, gap fills) are
// TxTypeValueTransfer signed with it.
func TestKeyChange(t *testing.T) {
	k, _ := crypto.GenerateKey()
	a := NewAccount(k, nil)
	chainID := big.NewInt(1001)
	end, err := a.BeginKeyChange()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.BeginKeyChange(); !errors.Is(err, ErrKeyChanging) {
		t.Fatalf("second change: %v", err)
	}
	if _, err := a.SignTransfer(chainID, 0, common.Address{1}, big.NewInt(1), big.NewInt(1)); !errors.Is(err, ErrKeyChanging) {
		t.Fatalf("sign during a change: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := a.WaitKey(ctx); !errors.Is(err, ErrKeyChanging) {
		t.Fatalf("WaitKey during a change: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- a.WaitKey(context.Background()) }()
	nk := NextKey(k)
	end(nk)
	end(nil) // later calls do nothing
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if a.PrivateKey() != nk || !a.Decoupled() || a.Address != KeyAddress(k) {
		t.Fatal("the account does not sign with the update's key at its own address")
	}
	tx, err := a.SignTransfer(chainID, 3, common.Address{1}, big.NewInt(5), big.NewInt(7))
	if err != nil {
		t.Fatal(err)
	}
	if tx.Type() != types.TxTypeValueTransfer || tx.Gas() != TransferGas {
		t.Fatalf("decoupled transfer is %s with gas %d", tx.Type(), tx.Gas())
	}
	pubs, err := types.SenderPubkey(types.LatestSignerForChainID(chainID), tx)
	if err != nil || len(pubs) != 1 || crypto.PubkeyToAddress(*pubs[0]) != KeyAddress(nk) {
		t.Fatalf("decoupled transfer not signed with the new key: %v", err)
	}
	b := a.WithSource(nil)
	if b.Address != a.Address || b.PrivateKey() != nk || !b.Decoupled() {
		t.Fatal("WithSource lost the address or the key")
	}
	if KeyHex(NextKey(k)) != KeyHex(nk) || KeyHex(NextKey(nk)) == KeyHex(nk) {
		t.Fatal("NextKey is not a deterministic chain")
	}
	// A failed update keeps the key.
	end, _ = a.BeginKeyChange()
	end(nil)
	if a.PrivateKey() != nk {
		t.Fatal("a failed update changed the key")
	}
}
