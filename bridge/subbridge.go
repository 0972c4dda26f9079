package bridge

import (
	"context"
	"fmt"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// Subbridge wraps the subbridge_* RPC of a service-chain node (Kaia
// node/sc/api_bridge.go). Addresses come back lower-case; they are always
// compared as common.Address values.
type Subbridge struct{ C *klay.Client }

// Journal is one entry of subbridge_listBridge.
type Journal struct {
	Alias      string         `json:"bridgeAlias"`
	Child      common.Address `json:"childAddress"`
	Parent     common.Address `json:"parentAddress"`
	Subscribed bool           `json:"subscribed"`
}

// ListBridge returns the bridge pairs the sub-bridge knows.
func (s Subbridge) ListBridge(ctx context.Context) ([]Journal, error) {
	var out []Journal
	err := s.C.Call(ctx, &out, "subbridge_listBridge")
	return out, err
}

// Find returns the journal of the pair (child, parent), if known.
func (s Subbridge) Find(ctx context.Context, p Pair) (*Journal, error) {
	list, err := s.ListBridge(ctx)
	if err != nil {
		return nil, fmt.Errorf("subbridge_listBridge: %w", err)
	}
	for i := range list {
		if list[i].Child == p.Child && list[i].Parent == p.Parent {
			return &list[i], nil
		}
	}
	return nil, nil
}

// DeployBridge deploys a pair with the operator accounts.
func (s Subbridge) DeployBridge(ctx context.Context) (Pair, error) {
	var addrs []common.Address
	// Deploying waits for two receipts on two chains: give it time.
	if err := s.C.CallWithin(ctx, 2*time.Minute, &addrs, "subbridge_deployBridge"); err != nil {
		return Pair{}, fmt.Errorf("subbridge_deployBridge: %w", err)
	}
	if len(addrs) != 2 {
		return Pair{}, fmt.Errorf("subbridge_deployBridge returned %d addresses, want 2", len(addrs))
	}
	return Pair{Child: addrs[0], Parent: addrs[1]}, nil
}

// RegisterBridge makes the sub-bridge know a pair deployed elsewhere.
func (s Subbridge) RegisterBridge(ctx context.Context, p Pair) error {
	return s.C.Call(ctx, nil, "subbridge_registerBridge", p.Child, p.Parent, nil)
}

// SubscribeBridge makes the sub-bridge handle the pair's events.
func (s Subbridge) SubscribeBridge(ctx context.Context, p Pair) error {
	return s.C.Call(ctx, nil, "subbridge_subscribeBridge", p.Child.Hex(), p.Parent.Hex())
}

// Threshold returns the value-transfer operator threshold of a bridge.
func (s Subbridge) Threshold(ctx context.Context, bridge common.Address) (uint8, error) {
	var n uint8
	err := s.C.Call(ctx, &n, "subbridge_getValueTransferOperatorThreshold", bridge)
	return n, err
}

// SetThreshold sets the value-transfer operator threshold of a bridge and
// waits until the getter confirms it.
func (s Subbridge) SetThreshold(ctx context.Context, bridge common.Address, n uint8) error {
	if cur, err := s.Threshold(ctx, bridge); err == nil && cur == n {
		return nil
	}
	var h common.Hash
	if err := s.C.Call(ctx, &h, "subbridge_setValueTransferOperatorThreshold", bridge, n); err != nil {
		return fmt.Errorf("subbridge_setValueTransferOperatorThreshold(%s): %w", bridge.Hex(), err)
	}
	err := klay.Poll(ctx, klay.ReceiptTimeout, func() (bool, error) {
		cur, err := s.Threshold(ctx, bridge)
		return cur == n, err
	})
	if err != nil {
		return fmt.Errorf("threshold of %s did not become %d: %w", bridge.Hex(), n, err)
	}
	return nil
}

// RegisterToken registers a token pair with both bridges of p.
func (s Subbridge) RegisterToken(ctx context.Context, p Pair, t TokenPair) error {
	return s.C.Call(ctx, nil, "subbridge_registerToken", p.Child.Hex(), p.Parent.Hex(), t.Child.Hex(), t.Parent.Hex())
}

// Operators returns the parent (main-chain) and child (service-chain)
// operator addresses, which pay for the handle transactions.
func (s Subbridge) Operators(ctx context.Context) (parent, child common.Address, err error) {
	if err = s.C.Call(ctx, &parent, "subbridge_getParentOperatorAddr"); err != nil {
		return
	}
	err = s.C.Call(ctx, &child, "subbridge_getChildOperatorAddr")
	return
}

// HandleTxHash returns the hash of the transaction that handled the
// request tx on the other chain; zero while it is not handled.
func (s Subbridge) HandleTxHash(ctx context.Context, request common.Hash) (common.Hash, error) {
	var h common.Hash
	err := s.C.Call(ctx, &h, "subbridge_convertRequestTxHashToHandleTxHash", request)
	return h, err
}
