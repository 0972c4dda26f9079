package klay

import (
	"context"

	"github.com/kaiachain/kaia/common/hexutil"
)

// PoolStatus is the node's transaction pool as txpool_status counts it.
type PoolStatus struct {
	// Pending are executable (their nonces follow the accounts' ones);
	// Queued wait for a missing nonce.
	Pending, Queued uint64
}

// TxPoolStatus asks the node how many transactions its pool holds
// (txpool_status; the node must serve the txpool namespace).
func (c *Client) TxPoolStatus(ctx context.Context) (PoolStatus, error) {
	var r struct {
		Pending hexutil.Uint64 `json:"pending"`
		Queued  hexutil.Uint64 `json:"queued"`
	}
	if err := c.Call(ctx, &r, "txpool_status"); err != nil {
		return PoolStatus{}, err
	}
	return PoolStatus{Pending: uint64(r.Pending), Queued: uint64(r.Queued)}, nil
}
