package tc

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
)

// tokenSum returns the accounts' total balance of token on c.
func tokenSum(t *testing.T, c *Chain, token common.Address) *big.Int {
	t.Helper()
	sum := new(big.Int)
	for _, a := range c.Accounts {
		b, err := bridge.TokenBalance(context.Background(), c.Client, token, a.Address)
		if err != nil {
			t.Fatal(err)
		}
		sum.Add(sum, b)
	}
	return sum
}

// TestTokenCasesE2E runs each ERC-20 case a few times per direction and
// checks that the recipients' token balances on the other chain moved by
// exactly count × amount (and, with check, that every e2e entry succeeded).
func TestTokenCasesE2E(t *testing.T) {
	env := devnetEnv(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	for _, cs := range []Case{scTokenTransfer(), scTokenTransferWithCheck(), scTokenTransfer2Step()} {
		t.Run(cs.Name, func(t *testing.T) {
			task, err := cs.New(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			bt := task.(*bridgeTask)
			const count = 3
			for _, d := range []direction{mainToService, serviceToMain} {
				l := bt.legs[d]
				dst := l.dst.chain
				before := tokenSum(t, dst, l.dstToken)
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
				if bt.track != nil {
					waitFor(t, 70*time.Second, "the tracker", func() bool { return bt.track.pending() == 0 })
					rec.failures(t)
					if ok, _ := rec.get(name + " e2e"); ok != count {
						t.Fatalf("%s e2e: %d successes, want %d", name, ok, count)
					}
				}
				want := new(big.Int).Mul(big.NewInt(count), tokenAmount)
				delta := func() *big.Int { return new(big.Int).Sub(tokenSum(t, dst, l.dstToken), before) }
				waitFor(t, 60*time.Second, name+" tokens to arrive", func() bool { return delta().Cmp(want) >= 0 })
				time.Sleep(2 * time.Second)
				if got := delta(); got.Cmp(want) != 0 {
					t.Fatalf("%s: recipients got %s token units, want exactly %s", name, got, want)
				}
				rec.failures(t)
			}
		})
	}
}
