package tc

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/klayslave/klayslave/klay"
)

// TestScValueTransferFallbackE2E checks that the senders' own addresses on
// the other chain received exactly count × value.
func TestScValueTransferFallbackE2E(t *testing.T) {
	env := devnetEnv(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, err := newFallbackTransfer(ctx, env, "scValueTransferFallbackTc")
	if err != nil {
		t.Fatal(err)
	}
	const count = 4
	for _, d := range []direction{mainToService, serviceToMain} {
		src, dst := env.MC, env.SC
		if d == serviceToMain {
			src, dst = env.SC, env.MC
		}
		// The senders' addresses, seen on the destination chain.
		mirror := &Chain{Client: dst.Client, Accounts: src.Accounts}
		before := balanceSum(t, mirror)
		task.dir = fixed(d)
		rec := newCounts()
		for range count {
			iterate(ctx, task, rec)
		}
		settle(t, env)
		rec.failures(t)
		want := new(big.Int).Mul(big.NewInt(count), transferValue())
		delta := func() *big.Int { return new(big.Int).Sub(balanceSum(t, mirror), before) }
		waitFor(t, 60*time.Second, d.String()+" fallback transfers to arrive", func() bool { return delta().Cmp(want) >= 0 })
		time.Sleep(2 * time.Second)
		if got := delta(); got.Cmp(want) != 0 {
			t.Fatalf("%s: senders' addresses on the other chain received %s peb, want %s (%s)", d, got, want, klay.FormatKLAY(want))
		}
	}
}
