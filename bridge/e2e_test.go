package bridge

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
)

// testConfig returns a set-up config over the devnet (devnettest.Load),
// with spare dev keys 4 and 5 as funders.
func testConfig(t *testing.T) Config {
	t.Helper()
	d := devnettest.Load(t)
	ctx := context.Background()
	side := func(name string, ch devnettest.Chain, key string) Side {
		c, err := klay.Dial(ctx, ch.RPC, 16)
		if err != nil {
			t.Fatal(err)
		}
		k, err := klay.ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return Side{Name: name, Client: c, ChainID: ch.ChainID, Funder: klay.NewAccount(k, c)}
	}
	cfg := Config{
		MC: side("main", d.MainChain, d.DevKeys.Spare[4]),
		SC: side("service", d.ServiceChain, d.DevKeys.Spare[5]),
	}
	var err error
	if cfg.Subbridge, err = klay.Dial(ctx, d.ServiceChain.SubbridgeRPC, 4); err != nil {
		t.Fatal(err)
	}
	cfg.Given = Pair{Parent: d.Bridge.MainBridge, Child: d.Bridge.ServiceBridge}
	return cfg
}

// deployLog counts the set-ups' "deployed bridge pair" records. The chain's
// own list of pairs cannot say how many this test deployed: the tests of
// other packages deploy pairs on the same devnet at the same time.
type deployLog struct {
	mu sync.Mutex
	n  int
}

func (d *deployLog) Enabled(context.Context, slog.Level) bool { return true }
func (d *deployLog) WithAttrs([]slog.Attr) slog.Handler       { return d }
func (d *deployLog) WithGroup(string) slog.Handler            { return d }
func (d *deployLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "deployed bridge pair" {
		d.mu.Lock()
		d.n++
		d.mu.Unlock()
	}
	return nil
}

// TestSetupDeploysOnceE2E runs two set-ups concurrently and a third after
// them on a fresh state directory: exactly one pair is deployed, all three
// return it, and the sub-bridge lists it as new, subscribed and ready.
func TestSetupDeploysOnceE2E(t *testing.T) {
	cfg := testConfig(t)
	cfg.Given = Pair{}
	cfg.StateDir = t.TempDir()
	deploys := &deployLog{}
	cfg.Log = slog.New(deploys)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before, err := Subbridge{cfg.Subbridge}.ListBridge(ctx)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	states := make([]State, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i], errs[i] = Setup(ctx, cfg, Want{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	again, err := Setup(ctx, cfg, Want{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reuse took %s", time.Since(start))
	if states[0].Bridge != states[1].Bridge || again.Bridge != states[0].Bridge {
		t.Fatalf("set-ups disagree: %+v %+v %+v", states[0].Bridge, states[1].Bridge, again.Bridge)
	}
	if n := deploys.n; n != 1 {
		t.Fatalf("three set-ups deployed %d pairs, want 1", n)
	}
	for _, j := range before {
		if j.Parent == again.Bridge.Parent && j.Child == again.Bridge.Child {
			t.Fatalf("pair %s/%s was listed before the set-ups", j.Parent.Hex(), j.Child.Hex())
		}
	}
	sb := Subbridge{cfg.Subbridge}
	j, err := sb.Find(ctx, again.Bridge)
	if err != nil || j == nil || !j.Subscribed {
		t.Fatalf("pair not subscribed: %+v %v", j, err)
	}
	for _, b := range []common.Address{again.Bridge.Parent, again.Bridge.Child} {
		if n, err := sb.Threshold(ctx, b); err != nil || n != 1 {
			t.Fatalf("threshold of %s = %d, %v", b.Hex(), n, err)
		}
	}
	bal, err := cfg.MC.Client.BalanceAt(ctx, again.Bridge.Parent, nil)
	if err != nil || bal.Cmp(klay.KLAYs(1000)) < 0 {
		t.Fatalf("parent bridge balance %v, %v", bal, err)
	}
}

// TestSetupGivenPairE2E uses the devnet's own pair as -mcBridge/-scBridge.
func TestSetupGivenPairE2E(t *testing.T) {
	cfg := testConfig(t)
	cfg.StateDir = t.TempDir()
	deploys := &deployLog{}
	cfg.Log = slog.New(deploys)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Setup(ctx, cfg, Want{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Bridge != cfg.Given {
		t.Fatalf("got %+v, want the given pair %+v", st.Bridge, cfg.Given)
	}
	if deploys.n != 0 {
		t.Fatalf("a given pair must not deploy, %d deployed", deploys.n)
	}
	if j, err := (Subbridge{cfg.Subbridge}).Find(ctx, cfg.Given); err != nil || j == nil || !j.Subscribed {
		t.Fatalf("given pair not listed and subscribed: %+v %v", j, err)
	}
	// A given address without a contract is refused.
	cfg.Given.Parent = common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	if _, err := Setup(ctx, cfg, Want{}); err == nil {
		t.Fatal("a given bridge without code was accepted")
	}
}
