package tc

import (
	"context"
	"math/big"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestScValueTransferLoadE2E runs scValueTransferWithCheckTc at 20 rps for
// 15 s per direction (KLAYSLAVE_LOAD=1 only: it takes a minute), checks
// that the recipients received exactly handled × value with no failure,
// and logs the request and end-to-end latency percentiles.
func TestScValueTransferLoadE2E(t *testing.T) {
	if os.Getenv("KLAYSLAVE_LOAD") == "" {
		t.Skip("set KLAYSLAVE_LOAD=1 to run the bridge load test")
	}
	env := devnetEnv(t, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, err := newKLAYTransfer(ctx, env, "scValueTransferWithCheckTc", true)
	if err != nil {
		t.Fatal(err)
	}
	const rps, dur = 20, 15 * time.Second
	for _, d := range []direction{mainToService, serviceToMain} {
		dst := env.SC
		if d == serviceToMain {
			dst = env.MC
		}
		before := balanceSum(t, dst)
		task.dir = fixed(d)
		rec := newCounts()
		tick := time.NewTicker(time.Second / rps)
		var wg sync.WaitGroup
		end := time.Now().Add(dur)
		for time.Now().Before(end) {
			<-tick.C
			wg.Add(1)
			go func() { defer wg.Done(); iterate(ctx, task, rec) }()
		}
		tick.Stop()
		wg.Wait()
		settle(t, env)
		waitFor(t, 90*time.Second, "the tracker", func() bool { return task.track.pending() == 0 })
		rec.failures(t)
		name := "scValueTransferWithCheckTc " + d.String()
		sent, _ := rec.get(name)
		handled, _ := rec.get(name + " e2e")
		if handled != sent || sent < rps*int(dur/time.Second)*9/10 {
			t.Errorf("%s: %d sent, %d handled", name, sent, handled)
		}
		want := new(big.Int).Mul(big.NewInt(int64(handled)), transferValue())
		time.Sleep(2 * time.Second)
		if got := new(big.Int).Sub(balanceSum(t, dst), before); got.Cmp(want) != 0 {
			t.Errorf("%s: recipients received %s peb, want %s", name, got, want)
		}
		rec.mu.Lock()
		t.Logf("%s: %d sent, %d handled; request p50 %s p99 %s; e2e p50 %s p99 %s", name, sent, handled,
			pct(rec.lat[name], 50), pct(rec.lat[name], 99), pct(rec.lat[name+" e2e"], 50), pct(rec.lat[name+" e2e"], 99))
		rec.mu.Unlock()
	}
}

// pct returns the p-th percentile of ds.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)].Round(time.Millisecond)
}
