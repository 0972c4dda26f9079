package klay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
	"github.com/klayslave/klayslave/internal/devnettest"
)

// chainEnv is one chain of the devnet, ready for a test.
type chainEnv struct {
	name    string // "mc" or "sc"
	c       *Client
	chainID *big.Int
	funder  *ecdsa.PrivateKey // the devnet's funder key for this chain
}

// devnetEnv loads the devnet with devnettest.Load, which skips the test
// when there is none (or fails it under KLAYSLAVE_REQUIRE_DEVNET) and has
// checked that both chains answer with their chain ids.
func devnetEnv(t testing.TB) (mc, sc *chainEnv) {
	t.Helper()
	n := devnettest.Load(t)
	load := func(name string, ch devnettest.Chain, keyHex string) *chainEnv {
		key, err := ParseKey(keyHex)
		if err != nil {
			t.Fatalf("%s funder key in %s: %v", name, n.Path, err)
		}
		return &chainEnv{name: name, c: dialT(t, ch.RPC), chainID: ch.ChainID, funder: key}
	}
	return load("mc", n.MainChain, n.DevKeys.MCFunder), load("sc", n.ServiceChain, n.DevKeys.SCFunder)
}

// keyGuard collects a test's log output and fails the test if any key it
// knows of appears in it.
type keyGuard struct {
	t    testing.TB
	mu   sync.Mutex
	buf  bytes.Buffer
	keys []string
	dirs []string
}

func newKeyGuard(t testing.TB) *keyGuard {
	g := &keyGuard{t: t}
	t.Cleanup(g.check)
	return g
}

// add registers keys whose hex must not leak.
func (g *keyGuard) add(keys ...*ecdsa.PrivateKey) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, k := range keys {
		g.keys = append(g.keys, KeyHex(k))
	}
}

// watchDir registers a directory whose file names are checked too.
func (g *keyGuard) watchDir(dir string) { g.dirs = append(g.dirs, dir) }

func (g *keyGuard) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

// logf logs to the test and to the guard.
func (g *keyGuard) logf(format string, args ...interface{}) {
	g.t.Helper()
	s := fmt.Sprintf(format, args...)
	g.t.Log(s)
	_, _ = io.WriteString(g, s+"\n")
}

// logger is a slog.Logger writing into the guard.
func (g *keyGuard) logger() *slog.Logger { return slog.New(slog.NewTextHandler(g, nil)) }

func (g *keyGuard) check() {
	for _, leak := range g.leaks() {
		g.t.Error(leak)
	}
}

// leaks describes each place where a registered key's hex shows up.
func (g *keyGuard) leaks() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := strings.ToLower(g.buf.String())
	var names []string
	for _, d := range g.dirs {
		_ = filepath.WalkDir(d, func(p string, _ os.DirEntry, _ error) error {
			names = append(names, strings.ToLower(p))
			return nil
		})
	}
	var leaks []string
	for _, k := range g.keys {
		if strings.Contains(out, k) {
			leaks = append(leaks, fmt.Sprintf("a key's hex appears in the log output (%d bytes checked)", len(out)))
		}
		for _, n := range names {
			if strings.Contains(n, k) {
				leaks = append(leaks, fmt.Sprintf("a key's hex appears in a file name under %v", g.dirs))
			}
		}
	}
	return leaks
}

// freshFunder makes a new random key and gives it amount from the devnet
// funder, so that its balance moves only with the test's transactions.
func freshFunder(t testing.TB, ctx context.Context, env *chainEnv, g *keyGuard, amount *big.Int) *Account {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	g.add(key, env.funder)
	if amount.Sign() > 0 {
		dev := NewAccount(env.funder, env.c)
		if _, err := Fund(ctx, env.c, dev, []common.Address{KeyAddress(key)}, amount, FundOptions{Logger: g.logger(), Label: env.name}); err != nil {
			t.Fatalf("fund a fresh funder on %s: %v", env.name, err)
		}
	}
	return NewAccount(key, env.c)
}

func klayAmt(t testing.TB, s string) *big.Int {
	v, err := ParseKLAY(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func balance(t *testing.T, ctx context.Context, c *Client, a common.Address) *big.Int {
	t.Helper()
	b, err := c.BalanceAt(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
