package tc

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// devnetEnv builds the Env cmd would build, over the devnet named by
// $KLAYSLAVE_DEVNET: spare dev keys fund n fresh test accounts per chain.
// devnettest.Load decides whether a missing devnet skips or fails.
// The state directory is shared by the tests (and runs), so the bridge
// and token pairs are deployed once and reused.
func devnetEnv(t *testing.T, n int) *Env {
	t.Helper()
	d := devnettest.Load(t)
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	runID := fmt.Sprintf("tc-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e9)
	runID = runID[max(0, len(runID)-60):]
	chain := func(name, url, key string) *Chain {
		c, err := klay.Dial(ctx, url, 32)
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.ChainID(ctx)
		if err != nil {
			t.Fatalf("devnet %s chain at %s does not answer: %v", name, url, err)
		}
		k, err := klay.ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		accs, err := klay.DeriveAccounts(k, strings.TrimLeft(runID, "-"), 0, n, c)
		if err != nil {
			t.Fatal(err)
		}
		funder := klay.NewAccount(k, c)
		if _, err := klay.Fund(ctx, c, funder, klay.Addresses(accs), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)), klay.FundOptions{}); err != nil {
			t.Fatalf("fund %s-chain test accounts: %v", name, err)
		}
		ch := &Chain{Name: name, Client: c, ChainID: id, Funder: funder, Accounts: accs}
		track(t, ch)
		return ch
	}
	env := &Env{
		MCEndpoint: d.MainChain.RPC,
		SCEndpoint: d.ServiceChain.RPC,
		MC:         chain("main", d.MainChain.RPC, d.DevKeys.Spare[4]),
		SC:         chain("service", d.ServiceChain.RPC, d.DevKeys.Spare[5]),
		// One bridge set-up per test process, shared by its tests, so that
		// a run never depends on what an earlier run left on the chains.
		StateDir: filepath.Join(os.TempDir(), fmt.Sprintf("klayslave-tc-e2e-state-%d", os.Getpid())),
	}
	sb := d.ServiceChain.SubbridgeRPC
	if sb == "" {
		sb = d.ServiceChain.RPC
	}
	if env.Subbridge, err = klay.Dial(ctx, sb, 8); err != nil {
		t.Fatal(err)
	}
	return env
}

// track gives ch a block scanner, running until the test ends, and lanes,
// as cmd does.
func track(t *testing.T, ch *Chain) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var lanes *klay.Lanes
	sc := klay.NewScanner(klay.ScannerConfig{Client: ch.Client, WSURL: klay.WSEndpointFor(ch.Client.URL()),
		OnBlock: func(b klay.BlockStats) { lanes.OnBlock(ctx, b.Number) }})
	lanes, err := klay.NewLanes(klay.LanesConfig{Client: ch.Client, Tracker: sc, Accounts: ch.Accounts,
		Fill: klay.SelfTransfer(ch.ChainID, klay.NewGasPricer(ch.Client, nil, time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	ch.Lanes, ch.Waiter = lanes, sc
	done := make(chan struct{})
	go func() { sc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	scanners.Store(ch, sc)
}

// scanners maps each test chain to its scanner, for settle.
var scanners sync.Map

// settle waits until every transaction sent on env's chains has its
// verdict, so that the iteration rows are complete.
func settle(t *testing.T, env *Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ch := range []*Chain{env.MC, env.SC} {
		if sc, ok := scanners.Load(ch); ok {
			if left := sc.(*klay.Scanner).Drain(ctx); left > 0 {
				t.Fatalf("%d transactions on the %s chain still await a block", left, ch.Name)
			}
		}
	}
}

// iterate runs one iteration of task now.
func iterate(ctx context.Context, task Task, out stats.Sink) {
	now := time.Now()
	task.Run(ctx, runner.Iteration{Due: now, Start: now}, out)
}

// counts is a stats.Sink that counts per row name.
type counts struct {
	mu   sync.Mutex
	ok   map[string]int
	fail map[string]int
	errs map[string]string
	lat  map[string][]time.Duration
}

func newCounts() *counts {
	return &counts{ok: map[string]int{}, fail: map[string]int{}, errs: map[string]string{}, lat: map[string][]time.Duration{}}
}

func (c *counts) Record(r stats.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Err != nil {
		c.fail[r.Name]++
		c.errs[r.Name] = r.Err.Error()
		return
	}
	c.ok[r.Name]++
	c.lat[r.Name] = append(c.lat[r.Name], r.Latency)
}

func (c *counts) get(name string) (ok, fail int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ok[name], c.fail[name]
}

func (c *counts) failures(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, n := range c.fail {
		t.Errorf("%s: %d failures, last: %s", name, n, c.errs[name])
	}
}

// balanceSum returns the sum of the accounts' KLAY on c.
func balanceSum(t *testing.T, c *Chain) *big.Int {
	t.Helper()
	bals, err := c.Client.BalancesAt(context.Background(), klay.Addresses(c.Accounts))
	if err != nil {
		t.Fatal(err)
	}
	sum := new(big.Int)
	for _, b := range bals {
		sum.Add(sum, b)
	}
	return sum
}

// waitFor polls cond every 200 ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fixed returns a direction picker that always picks d.
func fixed(d direction) func() direction { return func() direction { return d } }

// addrSet returns the addresses of accs as a set.
func addrSet(accs []*klay.Account) map[common.Address]bool {
	m := map[common.Address]bool{}
	for _, a := range accs {
		m[a.Address] = true
	}
	return m
}
