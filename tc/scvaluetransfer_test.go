package tc

import (
	"context"
	"math/big"
	"testing"
	"time"
)

// TestScValueTransferE2E sends count transfers each way and checks that
// the recipients on the other chain received exactly count × value.
// Each phase has one direction, so that the recipients do not also send.
func TestScValueTransferE2E(t *testing.T) {
	env := devnetEnv(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, err := newKLAYTransfer(ctx, env, "scValueTransferTc", false)
	if err != nil {
		t.Fatal(err)
	}
	const count = 5
	for _, d := range []direction{mainToService, serviceToMain} {
		dst := env.SC
		if d == serviceToMain {
			dst = env.MC
		}
		before := balanceSum(t, dst)
		task.dir = fixed(d)
		rec := newCounts()
		for range count {
			iterate(ctx, task, rec)
		}
		settle(t, env)
		rec.failures(t)
		name := "scValueTransferTc " + d.String()
		if ok, _ := rec.get(name); ok != count {
			t.Fatalf("%s: %d successes, want %d", name, ok, count)
		}
		want := new(big.Int).Mul(big.NewInt(count), transferValue())
		delta := func() *big.Int { return new(big.Int).Sub(balanceSum(t, dst), before) }
		start := time.Now()
		waitFor(t, 60*time.Second, name+" to arrive", func() bool { return delta().Cmp(want) >= 0 })
		t.Logf("%s: all %d arrived %s after the last request", name, count, time.Since(start).Round(time.Millisecond))
		time.Sleep(2 * time.Second) // nothing more may arrive
		if got := delta(); got.Cmp(want) != 0 {
			t.Fatalf("%s: recipients received %s peb, want exactly %s", name, got, want)
		}
	}
}

// TestScValueTransferWithCheckE2E runs the case in random directions and
// checks that every accepted request got an e2e entry, with no failure.
func TestScValueTransferWithCheckE2E(t *testing.T) {
	env := devnetEnv(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, err := scValueTransferWithCheck().New(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	bt := task.(*bridgeTask)
	rec := newCounts()
	const count = 10
	for range count {
		iterate(ctx, task, rec)
	}
	settle(t, env)
	waitFor(t, 70*time.Second, "the tracker to finish", func() bool { return bt.track.pending() == 0 })
	rec.failures(t)
	total := 0
	for _, d := range []direction{mainToService, serviceToMain} {
		name := "scValueTransferWithCheckTc " + d.String()
		sent, _ := rec.get(name)
		done, _ := rec.get(name + " e2e")
		if done != sent {
			t.Errorf("%s: %d requests, %d e2e successes", name, sent, done)
		}
		total += sent
		rec.mu.Lock()
		t.Logf("%s: %d sent; e2e latencies %v", name, sent, rec.lat[name+" e2e"])
		rec.mu.Unlock()
	}
	if total != count {
		t.Errorf("%d requests accepted, want %d", total, count)
	}
}
