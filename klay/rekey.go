package klay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
)

// ErrKeyChanging: an account update of the account awaits its block. Until
// then a transaction signed with either key may be refused (the pool checks
// the key of its state) or fail in the block (which checks the key after
// the update), so the account signs nothing.
var ErrKeyChanging = errors.New("an account update of this account awaits its block")

// keyChange is an account's gate for account updates.
type keyChange struct {
	mu sync.Mutex // serialises updates; readers of done need not take it
	// done is set while an update is in flight and closed when its
	// verdict is in. Atomic: every signature reads it, at full load.
	done      atomic.Pointer[chan struct{}]
	decoupled bool // the signing key is not the one the address derives from
}

// KeyChanging reports whether an account update of a awaits its block.
func (a *Account) KeyChanging() bool {
	return a.rekey.done.Load() != nil
}

// Decoupled reports whether an account update gave a a signing key other
// than the one its address derives from. Kaia then refuses legacy and
// Ethereum-typed transactions from it.
func (a *Account) Decoupled() bool {
	a.rekey.mu.Lock()
	defer a.rekey.mu.Unlock()
	return a.rekey.decoupled
}

// WaitKey waits, bounded by ctx, until no account update of a is in flight.
func (a *Account) WaitKey(ctx context.Context) error {
	for {
		done := a.rekey.done.Load()
		if done == nil {
			return nil
		}
		select {
		case <-*done:
		case <-ctx.Done():
			return fmt.Errorf("%s: %w: %w", a.Address.Hex(), ErrKeyChanging, ctx.Err())
		}
	}
}

// BeginKeyChange marks an account update of a in flight: until end is
// called, Sign fails with ErrKeyChanging and WaitKey waits. end(k) makes k
// the signing key (nil keeps the current one); calls after the first do
// nothing. It fails with ErrKeyChanging while another update is in flight.
func (a *Account) BeginKeyChange() (end func(newKey *ecdsa.PrivateKey), err error) {
	a.rekey.mu.Lock()
	defer a.rekey.mu.Unlock()
	if a.rekey.done.Load() != nil {
		return nil, fmt.Errorf("%s: %w", a.Address.Hex(), ErrKeyChanging)
	}
	done := make(chan struct{})
	a.rekey.done.Store(&done)
	var once sync.Once
	return func(k *ecdsa.PrivateKey) {
		once.Do(func() {
			a.rekey.mu.Lock()
			defer a.rekey.mu.Unlock()
			if k != nil {
				a.key.Store(k)
				a.rekey.decoupled = KeyAddress(k) != a.Address
			}
			a.rekey.done.Store(nil)
			close(done)
		})
	}, nil
}

// NextKey returns the key an account update of an account signing with k
// moves it to: keccak256("klayslave/account-update/v1" || k) mod N. It is
// derived, not random, so that a crashed run's updated accounts can still
// be found from their original keys (RecoverKey).
func NextKey(k *ecdsa.PrivateKey) *ecdsa.PrivateKey {
	h := crypto.Keccak256(append([]byte("klayslave/account-update/v1"), crypto.FromECDSA(k)...))
	for {
		d := new(big.Int).Mod(new(big.Int).SetBytes(h), secp256k1N)
		if d.Sign() != 0 {
			nk, err := crypto.ToECDSA(common.LeftPadBytes(d.Bytes(), 32))
			if err == nil {
				return nk
			}
		}
		h = crypto.Keccak256(h)
	}
}

// accountKeyJSON is the part of a klay_getAccountKey answer RecoverKey reads.
type accountKeyJSON struct {
	KeyType int `json:"keyType"`
	Key     struct {
		X *hexutil.Big `json:"x"`
		Y *hexutil.Big `json:"y"`
	} `json:"key"`
}

// Kaia's account key types (klay_getAccountKey keyType).
const (
	accountKeyLegacy = 1
	accountKeyPublic = 2
)

// AccountPublicKey returns the public key an account update set on addr,
// nil when the account still has its legacy key (its address's own).
func AccountPublicKey(ctx context.Context, c *Client, addr common.Address) (*ecdsa.PublicKey, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, &raw, "klay_getAccountKey", addr, "latest"); err != nil {
		return nil, err
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil // no account yet: legacy
	}
	var k accountKeyJSON
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("account key of %s: %w", addr.Hex(), err)
	}
	switch k.KeyType {
	case accountKeyLegacy:
		return nil, nil
	case accountKeyPublic:
		if k.Key.X == nil || k.Key.Y == nil {
			return nil, fmt.Errorf("account key of %s: public key without coordinates", addr.Hex())
		}
		raw := append([]byte{4}, common.LeftPadBytes(k.Key.X.ToInt().Bytes(), 32)...)
		pub, err := crypto.UnmarshalPubkey(append(raw, common.LeftPadBytes(k.Key.Y.ToInt().Bytes(), 32)...))
		if err != nil {
			return nil, fmt.Errorf("account key of %s: %w", addr.Hex(), err)
		}
		return pub, nil
	}
	return nil, fmt.Errorf("account key of %s has type %d; klayslave sets only public keys", addr.Hex(), k.KeyType)
}

// RecoverKey returns the key that signs for the account of original now:
// original itself while the account has its legacy key, else the first of
// NextKey(original), NextKey(NextKey(original)), ... (at most maxSteps)
// whose public key the chain holds.
func RecoverKey(ctx context.Context, c *Client, original *ecdsa.PrivateKey, maxSteps int) (*ecdsa.PrivateKey, error) {
	addr := KeyAddress(original)
	pub, err := AccountPublicKey(ctx, c, addr)
	if err != nil || pub == nil {
		return original, err
	}
	k := original
	for range maxSteps {
		k = NextKey(k)
		if SamePublicKey(&k.PublicKey, pub) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("account %s: its key is none of the %d klayslave's account updates derive", addr.Hex(), maxSteps)
}

// SamePublicKey reports whether a and b are the same public key.
func SamePublicKey(a, b *ecdsa.PublicKey) bool {
	return a != nil && b != nil && bytes.Equal(crypto.FromECDSAPub(a), crypto.FromECDSAPub(b))
}

// SetKey makes k a's signing key (a recovered key, see RecoverKey).
func (a *Account) SetKey(k *ecdsa.PrivateKey) {
	a.rekey.mu.Lock()
	defer a.rekey.mu.Unlock()
	a.key.Store(k)
	a.rekey.decoupled = KeyAddress(k) != a.Address
}
