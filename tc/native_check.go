package tc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"

	"github.com/kaiachain/kaia/blockchain/types/accountkey"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/rlp"
	"github.com/klayslave/klayslave/klay"
)

// What each native row verifies on chain, for a transaction a block holds
// with status 1. The tests call these; a load run only counts inclusions.

// rpcTx is the part of klay_getTransactionByHash the checks read.
type rpcTx struct {
	TypeInt     int             `json:"typeInt"`
	From        common.Address  `json:"from"`
	Nonce       hexutil.Uint64  `json:"nonce"`
	Value       *hexutil.Big    `json:"value"`
	Input       hexutil.Bytes   `json:"input"`
	Key         hexutil.Bytes   `json:"key"`
	FeePayer    *common.Address `json:"feePayer"`
	FeeRatio    *hexutil.Uint   `json:"feeRatio"`
	BlockNumber *hexutil.Big    `json:"blockNumber"`
}

// chainTxByHash returns the transaction h as the chain holds it; nil when
// no block holds it.
func chainTxByHash(ctx context.Context, c *klay.Client, h common.Hash) (*rpcTx, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, &raw, "klay_getTransactionByHash", h); err != nil {
		return nil, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var tx rpcTx
	if err := json.Unmarshal(raw, &tx); err != nil {
		return nil, err
	}
	if tx.BlockNumber == nil {
		return nil, nil // pending
	}
	return &tx, nil
}

// checkTx: a block holds s.Tx with status 1, of the row's type, from the
// sender at its nonce, with its fee payer and ratio, moving its value.
func checkTx(ctx context.Context, c *Chain, s *nativeShot) error {
	_, err := checkHeld(ctx, c, s)
	return err
}

func checkHeld(ctx context.Context, c *Chain, s *nativeShot) (*rpcTx, error) {
	if s.Err != nil || s.Inc.Status != 1 {
		return nil, fmt.Errorf("%s: not included with status 1 (%v)", s.Case, s.Err)
	}
	tx, err := chainTxByHash(ctx, c.Client, s.Tx.Hash())
	if err != nil {
		return nil, err
	}
	if tx == nil {
		return nil, fmt.Errorf("%s: no block holds %s", s.Case, s.Tx.Hash().Hex())
	}
	switch {
	case tx.TypeInt != int(s.Type):
		return nil, fmt.Errorf("%s: %s has type %#x, want %#x (%s)", s.Case, s.Tx.Hash().Hex(), tx.TypeInt, int(s.Type), s.Type)
	case tx.From != s.From.Address || uint64(tx.Nonce) != s.Nonce:
		return nil, fmt.Errorf("%s: %s is from %s nonce %d, want %s nonce %d", s.Case, s.Tx.Hash().Hex(), tx.From.Hex(), tx.Nonce, s.From.Address.Hex(), s.Nonce)
	}
	if s.FeePayer != nil && (tx.FeePayer == nil || *tx.FeePayer != s.FeePayer.Address) {
		return nil, fmt.Errorf("%s: %s has fee payer %v, want %s", s.Case, s.Tx.Hash().Hex(), tx.FeePayer, s.FeePayer.Address.Hex())
	}
	if s.Mode == feePayerShares && (tx.FeeRatio == nil || uint(*tx.FeeRatio) != NativeFeeRatio) {
		return nil, fmt.Errorf("%s: %s has fee ratio %v, want %d", s.Case, s.Tx.Hash().Hex(), tx.FeeRatio, NativeFeeRatio)
	}
	if s.Value != nil && (tx.Value == nil || tx.Value.ToInt().Cmp(s.Value) != 0) {
		return nil, fmt.Errorf("%s: %s moves %v, want %s", s.Case, s.Tx.Hash().Hex(), tx.Value, s.Value)
	}
	return tx, nil
}

// checkInput: the memo (or the anchored data) is the transaction's input.
func checkInput(ctx context.Context, c *Chain, s *nativeShot) error {
	tx, err := checkHeld(ctx, c, s)
	if err != nil {
		return err
	}
	if !bytes.Equal(tx.Input, s.Data) {
		return fmt.Errorf("%s: %s holds %d bytes of input, want the %d sent", s.Case, s.Tx.Hash().Hex(), len(tx.Input), len(s.Data))
	}
	return nil
}

// checkAccountKey: the update carries the new public key. (The account's
// key now is checked by the tests: later updates move it on.)
func checkAccountKey(ctx context.Context, c *Chain, s *nativeShot) error {
	tx, err := checkHeld(ctx, c, s)
	if err != nil {
		return err
	}
	want, err := encodedPublicKey(&s.NewKey.PublicKey)
	if err != nil {
		return err
	}
	if !bytes.Equal(tx.Key, want) {
		return fmt.Errorf("%s: %s sets key %x, want %x", s.Case, s.Tx.Hash().Hex(), []byte(tx.Key), want)
	}
	return nil
}

// encodedPublicKey is Kaia's RPC encoding of an AccountKeyPublic.
func encodedPublicKey(pub *ecdsa.PublicKey) ([]byte, error) {
	return rlp.EncodeToBytes(accountkey.NewAccountKeySerializerWithAccountKey(accountkey.NewAccountKeyPublicWithValue(pub)))
}

// checkDeployed: the receipt names a contract address, which holds code.
func checkDeployed(ctx context.Context, c *Chain, s *nativeShot) error {
	if _, err := checkHeld(ctx, c, s); err != nil {
		return err
	}
	r := s.Inc.Receipt
	if r == nil || r.ContractAddress == nil {
		return fmt.Errorf("%s: the receipt of %s names no contract", s.Case, s.Tx.Hash().Hex())
	}
	ok, err := klay.HasCode(ctx, c.Client, *r.ContractAddress)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: no code at %s", s.Case, r.ContractAddress.Hex())
	}
	return nil
}

// checkStored: KVStore's slot of the key holds the value written (keys are
// random 256-bit words, so no other write touched it).
func checkStored(ctx context.Context, c *Chain, s *nativeShot) error {
	if _, err := checkHeld(ctx, c, s); err != nil {
		return err
	}
	var got common.Hash
	if err := c.Client.Call(ctx, &got, "klay_getStorageAt", s.Contract, kvSlot(s.StoreKey), "latest"); err != nil {
		return err
	}
	if got.Big().Cmp(s.StoreValue) != 0 {
		return fmt.Errorf("%s: store[%s] holds %s, want %s", s.Case, s.StoreKey, got.Big(), s.StoreValue)
	}
	return nil
}

// checkCancelled: the nonce holds the cancel and no block holds the
// transfer it replaced; or, when the transfer came first, the other way
// round.
func checkCancelled(ctx context.Context, c *Chain, s *nativeShot) error {
	if s.Err != nil {
		return fmt.Errorf("%s: failed: %v", s.Case, s.Err)
	}
	if s.Transfer == nil {
		return fmt.Errorf("%s: no transfer was sent", s.Case)
	}
	held, gone := s.Tx.Hash(), s.Transfer.Hash()
	if s.TransferFirst {
		held, gone = gone, held
	}
	tx, err := chainTxByHash(ctx, c.Client, held)
	if err != nil {
		return err
	}
	if tx == nil || uint64(tx.Nonce) != s.Nonce || tx.From != s.From.Address {
		return fmt.Errorf("%s: nonce %d of %s is not held by %s", s.Case, s.Nonce, s.From.Address.Hex(), held.Hex())
	}
	if !s.TransferFirst && tx.TypeInt != int(s.Type) {
		return fmt.Errorf("%s: %s has type %#x, want the cancel %#x", s.Case, held.Hex(), tx.TypeInt, int(s.Type))
	}
	other, err := chainTxByHash(ctx, c.Client, gone)
	if err != nil {
		return err
	}
	if other != nil {
		return fmt.Errorf("%s: a block holds both %s and %s with nonce %d", s.Case, held.Hex(), gone.Hex(), s.Nonce)
	}
	return nil
}
