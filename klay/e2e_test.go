package klay

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"
)

// TestE2EFundAndSweep funds 200 accounts on both chains, checks every
// balance on chain, sweeps them back through the state file, and checks
// that the funder lost exactly the fees paid.
func TestE2EFundAndSweep(t *testing.T) {
	mc, sc := devnetEnv(t)
	for _, env := range []*chainEnv{mc, sc} {
		t.Run(env.name, func(t *testing.T) {
			t.Parallel()
			fundAndSweep(t, env, 200)
		})
	}
}

func fundAndSweep(t *testing.T, env *chainEnv, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newKeyGuard(t)
	charge := klayAmt(t, "0.1")
	funder := freshFunder(t, ctx, env, g, new(big.Int).Add(new(big.Int).Mul(charge, big.NewInt(int64(n))), klayAmt(t, "5")))
	before := balance(t, ctx, env.c, funder.Address)

	runID := NewRunID(time.Now())
	logDir := t.TempDir()
	g.watchDir(logDir)
	st := RunState{RunID: runID, Funder: funder.Address, Chain: env.name, ChainID: env.chainID.Uint64(),
		Endpoint: env.c.URL(), Worker: 0, Count: n, CreatedAt: time.Now().UTC()}
	if _, err := WriteRunState(StateDir(logDir), st); err != nil {
		t.Fatal(err)
	}
	accs, err := DeriveAccounts(funder.PrivateKey(), runID, 0, n, env.c)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		g.add(a.PrivateKey())
	}

	res, err := Fund(ctx, env.c, funder, Addresses(accs), charge, FundOptions{Logger: g.logger(), Progress: g, Label: env.name})
	if err != nil {
		t.Fatalf("fund: %v", err)
	}
	g.logf("%s: funded %d accounts in %s (%.0f accounts/s), %d transfers, fees %s KLAY",
		env.name, res.Accounts, res.Elapsed.Round(time.Millisecond), float64(n)/res.Elapsed.Seconds(), res.Transfers, FormatKLAY(res.Fees))
	bals, err := env.c.BalancesAt(ctx, Addresses(accs))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bals {
		if b.Cmp(charge) != 0 {
			t.Fatalf("account %d (%s) holds %s KLAY, want %s", i, accs[i].Address.Hex(), FormatKLAY(b), FormatKLAY(charge))
		}
	}
	fundFees := sumFees(res.Receipts)
	if fundFees.Cmp(res.Fees) != 0 {
		t.Fatalf("fees %s != sum of receipts %s", res.Fees, fundFees)
	}
	afterFund := balance(t, ctx, env.c, funder.Address)
	spent := new(big.Int).Sub(before, afterFund)
	if want := new(big.Int).Add(res.Value, fundFees); spent.Cmp(want) != 0 {
		t.Fatalf("funder spent %s peb, want value+fees %s", spent, want)
	}

	// Recover the accounts as `sweep -run <id>` does, from the state file.
	states, err := FindRunStates(StateDir(logDir), runID)
	if err != nil || len(states) != 1 {
		t.Fatalf("state: %v, %d files", err, len(states))
	}
	again, err := states[0].Accounts(funder.PrivateKey(), env.c)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := Sweep(ctx, env.c, funder.Address, again, SweepOptions{Logger: g.logger(), Progress: g, Label: env.name})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	g.logf("%s: swept %d accounts in %s, returned %s KLAY, fees %s KLAY, left %s peb",
		env.name, sr.Swept, sr.Elapsed.Round(time.Millisecond), FormatKLAY(sr.Returned), FormatKLAY(sr.Fees), sr.Left)
	if sr.Swept != n {
		t.Fatalf("swept %d of %d", sr.Swept, n)
	}
	sweepFees := sumFees(sr.Receipts)
	final := balance(t, ctx, env.c, funder.Address)
	// The funder got back everything except the fees of both directions.
	want := new(big.Int).Sub(before, fundFees)
	want.Sub(want, sweepFees)
	want.Sub(want, sr.Left)
	if final.Cmp(want) != 0 {
		t.Fatalf("funder holds %s peb after the sweep, want %s (before %s − fees %s − %s − left %s)", final, want, before, fundFees, sweepFees, sr.Left)
	}
	if exactFees(sr.Receipts) && sr.Left.Sign() != 0 {
		t.Fatalf("%s peb left in the accounts although every sweep paid exactly its gas price", sr.Left)
	}
	if err := RemoveRunState(StateDir(logDir), st); err != nil {
		t.Fatal(err)
	}
}

func sumFees(rs []*Receipt) *big.Int {
	sum := new(big.Int)
	for _, r := range rs {
		sum.Add(sum, r.Fee())
	}
	return sum
}

// exactFees reports whether every transaction paid its offered gas price
// (true after the Kaia hard fork for legacy transactions).
func exactFees(rs []*Receipt) bool {
	for _, r := range rs {
		if r.EffectiveGasPrice != nil && r.GasPrice != nil && r.EffectiveGasPrice.Cmp(r.GasPrice) != 0 {
			return false
		}
	}
	return true
}

// TestE2EFourFundersOneKey starts four funders with one key at the same
// moment, as four workers with the same -mcKey would; all must finish.
func TestE2EFourFundersOneKey(t *testing.T) {
	mc, _ := devnetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	g := newKeyGuard(t)
	const workers, per = 4, 250
	charge := klayAmt(t, "0.1")
	shared := freshFunder(t, ctx, mc, g, klayAmt(t, "120"))
	runID := NewRunID(time.Now())

	start := make(chan struct{})
	errs := make([]error, workers)
	results := make([]*FundResult, workers)
	accs := make([][]*Account, workers)
	var wg sync.WaitGroup
	for w := range workers {
		// Each worker has its own client and its own nonce manager for the
		// shared key, like a separate process.
		c := dialT(t, mc.c.URL())
		funder := NewAccount(shared.PrivateKey(), c)
		a, err := DeriveAccounts(shared.PrivateKey(), runID, w, per, c)
		if err != nil {
			t.Fatal(err)
		}
		accs[w] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[w], errs[w] = Fund(ctx, c, funder, Addresses(a), charge, FundOptions{Logger: g.logger(), Label: "worker"})
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	g.logf("4 workers × %d accounts with one key: %s", per, time.Since(t0).Round(time.Millisecond))
	var all []*Account
	for w := range workers {
		if errs[w] != nil {
			t.Errorf("worker %d: %v", w, errs[w])
			continue
		}
		g.logf("worker %d: %d accounts, %d transfers in %s", w, results[w].Accounts, results[w].Transfers, results[w].Elapsed.Round(time.Millisecond))
		all = append(all, accs[w]...)
	}
	bals, err := mc.c.BalancesAt(ctx, Addresses(all))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bals {
		if b.Cmp(charge) < 0 {
			t.Fatalf("account %s holds %s KLAY", all[i].Address.Hex(), FormatKLAY(b))
		}
	}
	if _, err := Sweep(ctx, mc.c, shared.Address, all, SweepOptions{Logger: g.logger()}); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

// BenchmarkFund1000 funds 1,000 accounts on the devnet's main chain and
// sweeps them back; record its accounts/s in docs/benchmarks.md:
//
//	KLAYSLAVE_DEVNET=/tmp/klayslave-devnet/network.json go test ./klay -run=^$ -bench=Fund1000 -benchtime=1x
func BenchmarkFund1000(b *testing.B) {
	mc, _ := devnetEnv(b)
	const n = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	g := newKeyGuard(b)
	for i := 0; i < b.N; i++ {
		funder := freshFunder(b, ctx, mc, g, klayAmt(b, "200"))
		accs, err := DeriveAccounts(funder.PrivateKey(), NewRunID(time.Now()), 0, n, mc.c)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Fund(ctx, mc.c, funder, Addresses(accs), klayAmt(b, "0.1"), FundOptions{Progress: g, Label: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		sr, err := Sweep(ctx, mc.c, funder.Address, accs, SweepOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Accounts)/res.Elapsed.Seconds(), "funded/s")
		b.ReportMetric(res.Elapsed.Seconds(), "fund-s")
		b.ReportMetric(float64(sr.Swept)/sr.Elapsed.Seconds(), "swept/s")
	}
}

// TestE2ESweepRun funds users on both chains under one run id, forgets
// them (as a crash would), and recovers the funds with SweepRun.
func TestE2ESweepRun(t *testing.T) {
	mc, sc := devnetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newKeyGuard(t)
	logDir := t.TempDir()
	g.watchDir(logDir)
	runID := NewRunID(time.Now())
	funders := map[string]*Account{}
	for _, env := range []*chainEnv{mc, sc} {
		f := freshFunder(t, ctx, env, g, klayAmt(t, "10"))
		funders[env.name] = f
		u, err := PrepareUsers(ctx, env.c, f.PrivateKey(), UsersConfig{Chain: env.name, RunID: runID, Worker: 1, Count: 20,
			Charge: klayAmt(t, "0.2"), LogDir: logDir, Fund: FundOptions{Logger: g.logger()}})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range u.Accounts {
			g.add(a.PrivateKey())
		}
	}
	results, err := SweepRun(ctx, logDir, runID,
		func(st RunState) (*ecdsa.PrivateKey, error) { return funders[st.Chain].PrivateKey(), nil },
		func(ctx context.Context, st RunState) (*Client, error) { return Dial(ctx, st.Endpoint, 8) },
		SweepOptions{Logger: g.logger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 || results[0].Swept != 20 || results[1].Swept != 20 {
		t.Fatalf("results: %+v", results)
	}
	if left, _ := FindRunStates(StateDir(logDir), runID); len(left) != 0 {
		t.Fatalf("%d state files left", len(left))
	}
	if _, err := SweepRun(ctx, logDir, runID, nil, nil, SweepOptions{}); !errors.Is(err, ErrNoRunState) {
		t.Fatalf("second sweep: %v", err)
	}
}
