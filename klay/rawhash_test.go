package klay

import (
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

// The lanes track a transaction by rawHash; it must be the hash the node
// and the blocks give it, tx.Hash(), for every kind klayslave sends.
func TestRawHashIsTxHash(t *testing.T) {
	k, _ := crypto.GenerateKey()
	fp, _ := crypto.GenerateKey()
	id := big.NewInt(2018)
	to := common.HexToAddress("0x01")
	from := crypto.PubkeyToAddress(k.PublicKey)
	gp := big.NewInt(25e9)
	code := make([]byte, 2000)
	mk := func(tt types.TxType, m map[types.TxValueKeyType]interface{}) *types.Transaction {
		t.Helper()
		tx, err := types.NewTransactionWithMap(tt, m)
		if err != nil {
			t.Fatal(tt, err)
		}
		return tx
	}
	base := func(extra map[types.TxValueKeyType]interface{}) map[types.TxValueKeyType]interface{} {
		m := map[types.TxValueKeyType]interface{}{types.TxValueKeyNonce: uint64(7), types.TxValueKeyGasLimit: uint64(900000)}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	kaia := map[types.TxValueKeyType]interface{}{types.TxValueKeyFrom: from, types.TxValueKeyTo: to, types.TxValueKeyAmount: big.NewInt(1), types.TxValueKeyGasPrice: gp}
	fd := map[types.TxValueKeyType]interface{}{types.TxValueKeyFrom: from, types.TxValueKeyTo: to, types.TxValueKeyAmount: big.NewInt(1), types.TxValueKeyGasPrice: gp,
		types.TxValueKeyFeePayer: crypto.PubkeyToAddress(fp.PublicKey), types.TxValueKeyFeeRatioOfFeePayer: types.FeeRatio(30)}
	eth := map[types.TxValueKeyType]interface{}{types.TxValueKeyTo: (*common.Address)(nil), types.TxValueKeyAmount: big.NewInt(0), types.TxValueKeyData: code,
		types.TxValueKeyAccessList: types.AccessList{}, types.TxValueKeyChainID: id}
	dyn := map[types.TxValueKeyType]interface{}{types.TxValueKeyGasFeeCap: gp, types.TxValueKeyGasTipCap: big.NewInt(1)}
	for k, v := range eth {
		dyn[k] = v
	}
	al := map[types.TxValueKeyType]interface{}{types.TxValueKeyGasPrice: gp}
	for k, v := range eth {
		al[k] = v
	}
	txs := []*types.Transaction{
		types.NewTransaction(7, to, big.NewInt(1), 21000, gp, nil),
		types.NewContractCreation(7, big.NewInt(0), 900000, gp, code),
		mk(types.TxTypeValueTransfer, base(kaia)),
		mk(types.TxTypeFeeDelegatedValueTransferWithRatio, base(fd)),
		mk(types.TxTypeEthereumDynamicFee, base(dyn)),
		mk(types.TxTypeEthereumAccessList, base(al)),
	}
	signer := types.LatestSignerForChainID(id)
	for _, tx := range txs {
		if err := tx.SignWithKeys(signer, []*ecdsa.PrivateKey{k}); err != nil {
			t.Fatal(err)
		}
		if tx.Type().IsFeeDelegatedTransaction() {
			if err := tx.SignFeePayerWithKeys(signer, []*ecdsa.PrivateKey{fp}); err != nil {
				t.Fatal(err)
			}
		}
		raw, err := tx.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rawHash(tx, raw), tx.Hash(); got != want {
			t.Errorf("%v: rawHash %s, tx.Hash %s", tx.Type(), got.Hex(), want.Hex())
		}
	}
}
