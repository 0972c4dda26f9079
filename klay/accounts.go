package klay

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

// TransferGas is the gas of a plain value transfer.
const TransferGas = 21000

// Account is a key, its address and its nonce manager. Its String and
// GoString print the address only, so that logging an Account never leaks
// the key.
type Account struct {
	key     *ecdsa.PrivateKey
	Address common.Address
	Nonce   *NonceManager
}

// NewAccount returns the account of key; src (usually the *Client) is where
// its nonce manager resyncs from.
func NewAccount(key *ecdsa.PrivateKey, src NonceSource) *Account {
	addr := KeyAddress(key)
	return &Account{key: key, Address: addr, Nonce: NewNonceManager(addr, src)}
}

// PrivateKey returns the account's key, for signing other transaction types.
func (a *Account) PrivateKey() *ecdsa.PrivateKey { return a.key }

func (a *Account) String() string   { return a.Address.Hex() }
func (a *Account) GoString() string { return "klay.Account{" + a.Address.Hex() + "}" }

// Sign signs tx for chainID with the most permissive signer of Kaia v1.0.3
// (EIP-155 for legacy transactions).
func (a *Account) Sign(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	// In place, as Kaia's own senders do: SignTx would copy the transaction
	// for every signature, a cost paid per iteration at full load.
	if err := tx.SignWithKeys(types.LatestSignerForChainID(chainID), []*ecdsa.PrivateKey{a.key}); err != nil {
		return nil, err
	}
	return tx, nil
}

// SignTransfer builds and signs a legacy value transfer.
func (a *Account) SignTransfer(chainID *big.Int, nonce uint64, to common.Address, value, gasPrice *big.Int) (*types.Transaction, error) {
	return a.Sign(types.NewTransaction(nonce, to, value, TransferGas, gasPrice, nil), chainID)
}

// WithSource returns a copy of a with a fresh nonce manager over src (for
// another chain or another client).
func (a *Account) WithSource(src NonceSource) *Account {
	return NewAccount(a.key, src)
}

var secp256k1N = crypto.S256().Params().N

// runIDPattern is what a run id may contain; it ends up in file names.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateRunID checks that id is usable in file names.
func ValidateRunID(id string) error {
	if !runIDPattern.MatchString(id) {
		return fmt.Errorf("run id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	return nil
}

// NewRunID returns a fresh run id: UTC time plus 3 random bytes.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// DeriveKeys derives n test keys for one worker:
//
//	key_i = keccak256("klayslave/test-account/v1" || funderKey || len(runID) || runID || worker || i) mod N
//
// (re-hashed in the negligible case the result is 0). Workers with different
// indexes get disjoint sets; the same inputs always give the same keys, so a
// crashed run's accounts can be derived again from its state file.
func DeriveKeys(funder *ecdsa.PrivateKey, runID string, worker, n int) ([]*ecdsa.PrivateKey, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, err
	}
	if worker < 0 || n < 0 {
		return nil, errors.New("worker index and count must not be negative")
	}
	seed := crypto.FromECDSA(funder)
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		k, err := deriveKey(seed, runID, uint32(worker), uint32(i))
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

func deriveKey(seed []byte, runID string, worker, index uint32) (*ecdsa.PrivateKey, error) {
	var buf []byte
	buf = append(buf, "klayslave/test-account/v1"...)
	buf = append(buf, seed...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(runID)))
	buf = append(buf, runID...)
	buf = binary.BigEndian.AppendUint32(buf, worker)
	buf = binary.BigEndian.AppendUint32(buf, index)
	h := crypto.Keccak256(buf)
	for {
		d := new(big.Int).Mod(new(big.Int).SetBytes(h), secp256k1N)
		if d.Sign() != 0 {
			return crypto.ToECDSA(common.LeftPadBytes(d.Bytes(), 32))
		}
		h = crypto.Keccak256(h)
	}
}

// DeriveAccounts is DeriveKeys wrapped into Accounts whose nonce managers
// resync from src.
func DeriveAccounts(funder *ecdsa.PrivateKey, runID string, worker, n int, src NonceSource) ([]*Account, error) {
	keys, err := DeriveKeys(funder, runID, worker, n)
	if err != nil {
		return nil, err
	}
	out := make([]*Account, n)
	for i, k := range keys {
		out[i] = NewAccount(k, src)
	}
	return out, nil
}

// Addresses returns the accounts' addresses.
func Addresses(accs []*Account) []common.Address {
	out := make([]common.Address, len(accs))
	for i, a := range accs {
		out[i] = a.Address
	}
	return out
}
