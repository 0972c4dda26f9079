package tc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// TestBaselinesE2E runs each baseline a few times and checks that every
// accepted transaction was mined with status 1.
func TestBaselinesE2E(t *testing.T) {
	env := devnetEnv(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range []struct {
		cs     Case
		chain  *Chain
		txType int // Kaia's typeInt: 8 TxTypeValueTransfer, 0 legacy
	}{{mcValueTransfer(), env.MC, 8}, {scChainValueTransfer(), env.SC, 8}, {transferSignedTx(), env.MC, 0}} {
		t.Run(c.cs.Name, func(t *testing.T) {
			task, err := c.cs.New(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var hashes []common.Hash
			task.(*plainTransfer).sent = func(tk *klay.Ticket) { mu.Lock(); hashes = append(hashes, tk.Tx.Hash()); mu.Unlock() }
			rec := newCounts()
			const count = 4
			for range count {
				iterate(ctx, task, rec)
			}
			settle(t, env)
			rec.failures(t)
			if ok, _ := rec.get(c.cs.Name); ok != count || len(hashes) != count {
				t.Fatalf("%d successes, %d hashes; want %d", ok, len(hashes), count)
			}
			for _, h := range hashes {
				// settle saw every block: the receipt exists.
				r, err := c.chain.Client.TransactionReceipt(ctx, h)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != 1 {
					t.Fatalf("tx %s: status %d", h.Hex(), r.Status)
				}
				var tx struct {
					TypeInt int `json:"typeInt"`
				}
				if err := c.chain.Client.Call(ctx, &tx, "klay_getTransactionByHash", h); err != nil {
					t.Fatal(err)
				}
				if tx.TypeInt != c.txType {
					t.Fatalf("tx %s has type %d, want %d", h.Hex(), tx.TypeInt, c.txType)
				}
			}
		})
	}
}
