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

// catalogueSpare is the dev key of the token and execution family tests
// (see devnettest.MinSpare).
const catalogueSpare = 8

// Acceptance load of the family tests: each case for familyRun at
// familyRate iterations per second, all cases of a family at once.
const (
	familyRun  = 10 * time.Second
	familyRate = 5
)

// mainEnv builds an Env with the devnet's main chain only: n fresh test
// accounts funded by the catalogue's spare key, a scanner and lanes, and a
// state directory of this test process.
func mainEnv(t *testing.T, n int) *Env {
	t.Helper()
	d := devnettest.Load(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := klay.Dial(ctx, d.MainChain.RPC, 32)
	if err != nil {
		t.Fatal(err)
	}
	k, err := klay.ParseKey(d.DevKeys.Spare[catalogueSpare])
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("tc-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()%1e9)
	accs, err := klay.DeriveAccounts(k, runID[max(0, len(runID)-60):], 0, n, c)
	if err != nil {
		t.Fatal(err)
	}
	funder := klay.NewAccount(k, c)
	if _, err := klay.Fund(ctx, c, funder, klay.Addresses(accs), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)), klay.FundOptions{}); err != nil {
		t.Fatalf("fund main-chain test accounts: %v", err)
	}
	ch := &Chain{Name: "main", Client: c, ChainID: d.MainChain.ChainID, Funder: funder, Accounts: accs}
	track(t, ch)
	return &Env{MCEndpoint: d.MainChain.RPC, MC: ch,
		StateDir: filepath.Join(os.TempDir(), fmt.Sprintf("klayslave-tc-catalogue-state-%d", os.Getpid()))}
}

// newCase prepares the case called name from cases.
func newCase(t *testing.T, ctx context.Context, env *Env, cases []Case, name string) Task {
	t.Helper()
	for _, c := range cases {
		if c.Name == name {
			task, err := c.New(ctx, env)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return task
		}
	}
	t.Fatalf("no case %s", name)
	return nil
}

// pace runs each task at rate iterations per second for d, all at once,
// an iteration per goroutine as the runner's open loop does, and returns
// once every iteration returned.
func pace(ctx context.Context, tasks []Task, rate float64, d time.Duration, out stats.Sink) {
	var wg sync.WaitGroup
	for _, task := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
			defer tick.Stop()
			end := time.Now().Add(d)
			for due := range tick.C {
				if due.After(end) || ctx.Err() != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					task.Run(ctx, runner.Iteration{Due: due, Start: time.Now()}, out)
				}()
			}
		}()
	}
	wg.Wait()
}

// tickets collects the sent transactions of one case.
type tickets struct {
	mu  sync.Mutex
	all []*klay.Ticket
}

func (s *tickets) add(tk *klay.Ticket) { s.mu.Lock(); s.all = append(s.all, tk); s.mu.Unlock() }

// checkIncluded checks that the case's iteration rows are all successes,
// as many as it sent (each a block held with status 1: the scanner's
// verdict), and that the load was the one asked for.
func checkIncluded(t *testing.T, rec *counts, name string, sent int) {
	t.Helper()
	ok, fail := rec.get(name)
	want := int(familyRun.Seconds() * familyRate * 0.8)
	if fail != 0 || ok != sent || sent < want {
		t.Errorf("%s: %d included with status 1, %d failed, %d sent; want all of at least %d", name, ok, fail, sent, want)
	}
	if n, _ := rec.get(namesOf(name).unconfirmed); n != 0 {
		t.Errorf("%s: %d transactions without a verdict", name, n)
	}
}

func viewBig(t *testing.T, c *Chain, name string, to common.Address, method string, args ...any) *big.Int {
	t.Helper()
	k := mustLoad(t, name)
	v, err := klay.ViewBig(context.Background(), c.Client, k.ABI, to, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
