package tc

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/klayslave/klayslave/bridge"
)

// poolIDs returns the ids pooled for d, as id → owner.
func poolIDs(p *nftPools, d direction) map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for _, ids := range p.ids[d] {
		for _, id := range ids {
			out[id.String()] = true
		}
	}
	return out
}

// TestNFTCasesE2E sends a few NFTs each way with each case and checks that
// every id sent is owned by a test account on the other chain.
func TestNFTCasesE2E(t *testing.T) {
	env := devnetEnv(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for _, cs := range []Case{scNFTTransferWithCheck(), scNFTTransfer2Step()} {
		t.Run(cs.Name, func(t *testing.T) {
			task, err := cs.New(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			bt := task.(*bridgeTask)
			const count = 3
			for _, d := range []direction{mainToService, serviceToMain} {
				l := bt.legs[d]
				before := poolIDs(bt.nfts, d)
				bt.dir = fixed(d)
				rec := newCounts()
				for range count {
					iterate(ctx, task, rec)
				}
				settle(t, env)
				name := cs.Name + " " + d.String()
				if ok, _ := rec.get(name); ok != count {
					rec.failures(t)
					t.Fatalf("%s: %d successes, want %d", name, ok, count)
				}
				after := poolIDs(bt.nfts, d)
				var sent []*big.Int
				for id := range before {
					if !after[id] {
						v, _ := new(big.Int).SetString(id, 10)
						sent = append(sent, v)
					}
				}
				if len(sent) != count {
					t.Fatalf("%s: %d ids left the pool, want %d", name, len(sent), count)
				}
				recipients := addrSet(l.dst.chain.Accounts)
				for _, id := range sent {
					waitFor(t, 60*time.Second, name+" id "+id.String()+" to arrive", func() bool {
						owner, err := bridge.NFTOwner(ctx, l.dst.chain.Client, l.dstToken, id)
						return err == nil && recipients[owner]
					})
				}
				if bt.track != nil {
					waitFor(t, 70*time.Second, "the tracker", func() bool { return bt.track.pending() == 0 })
					if ok, _ := rec.get(name + " e2e"); ok != count {
						t.Errorf("%s e2e: %d successes, want %d", name, ok, count)
					}
					// Handled ids are pooled for the way back.
					if n := bt.nfts.size(1 - d); n < count {
						t.Errorf("%d ids pooled for the way back, want at least %d", n, count)
					}
				}
				rec.failures(t)
			}
		})
	}
}
