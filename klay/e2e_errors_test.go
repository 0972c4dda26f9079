package klay

import (
	"context"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/crypto"
)

// TestE2EPreflightFailures runs each pre-flight failure for real.
func TestE2EPreflightFailures(t *testing.T) {
	mc, sc := devnetEnv(t)
	ctx := context.Background()
	g := newKeyGuard(t)
	g.add(mc.funder, sc.funder)

	// The happy path first: both chains pass every check.
	for _, env := range []*chainEnv{mc, sc} {
		err := Preflight(ctx, env.c, PreflightConfig{Label: env.name, Funder: KeyAddress(env.funder), Users: 10,
			Charge: klayAmt(t, "1"), ExpectedChainID: env.chainID})
		if err != nil {
			t.Fatalf("%s: %v", env.name, err)
		}
	}

	t.Run("closed port", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		url := "http://" + l.Addr().String()
		l.Close()
		err = Preflight(ctx, dialT(t, url), PreflightConfig{Label: "main chain", URLFlag: "-mcEndpoint"})
		wantPreflight(t, err, CheckReachable, url, "-mcEndpoint")
		g.logf("%v", err)
	})
	t.Run("bad key", func(t *testing.T) {
		bad := KeyHex(mc.funder)[:62] + "zz"
		_, err := MainChainKeySource(bad, "").Load()
		wantPreflight(t, err, CheckKey, "-mcKey", "32-byte hex")
		if strings.Contains(err.Error(), bad[:20]) {
			t.Fatal("the error echoes the key")
		}
		g.logf("%v", err)
	})
	t.Run("empty funder", func(t *testing.T) {
		key, _ := crypto.GenerateKey()
		g.add(key)
		addr := KeyAddress(key)
		err := Preflight(ctx, mc.c, PreflightConfig{Label: "main chain", Funder: addr, Users: 100, Charge: klayAmt(t, "0.5")})
		wantPreflight(t, err, CheckBalance, addr.Hex(), "has 0 KLAY", "100 users × 0.5 KLAY")
		g.logf("%v", err)
	})
	t.Run("wrong chain id", func(t *testing.T) {
		err := Preflight(ctx, mc.c, PreflightConfig{Label: "main chain", ExpectedChainID: sc.chainID})
		wantPreflight(t, err, CheckChainID, mc.c.URL(), mc.chainID.String(), sc.chainID.String())
		g.logf("%v", err)
	})
	t.Run("namespace not enabled", func(t *testing.T) {
		// The main chain's EN serves mainbridge, not subbridge.
		err := Preflight(ctx, mc.c, PreflightConfig{Label: "main chain", Modules: []string{"klay", "subbridge"}})
		wantPreflight(t, err, CheckModules, mc.c.URL(), "--rpcapi must include subbridge")
		g.logf("%v", err)
	})
	t.Run("no new blocks", func(t *testing.T) {
		// A node whose head never moves.
		srv := fakeNode(t, map[string]interface{}{"klay_blockNumber": "0x1"})
		err := CheckNewBlocks(ctx, dialT(t, srv.URL), 200*time.Millisecond)
		wantPreflight(t, err, CheckBlocks, srv.URL)
		g.logf("%v", err)
	})
}

// TestE2ENonceErrors forces each nonce error on the real node and checks
// its classification and the nonce manager's recovery.
func TestE2ENonceErrors(t *testing.T) {
	mc, _ := devnetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newKeyGuard(t)
	a := freshFunder(t, ctx, mc, g, klayAmt(t, "10"))
	to := KeyAddress(mc.funder)
	gp, err := mc.c.GasPrice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(nonce uint64, value int64, price *big.Int) *types.Transaction {
		tx, err := a.SignTransfer(mc.chainID, nonce, to, big.NewInt(value), price)
		if err != nil {
			t.Fatal(err)
		}
		return tx
	}
	send := func(tx *types.Transaction) error {
		_, err := mc.c.SendTransaction(ctx, tx)
		if err != nil {
			g.logf("node says: %v → %s", err, ClassifySendError(err))
		}
		return err
	}

	// Known transaction: the same bytes twice.
	tx0 := sign(0, 1, gp)
	if err := send(tx0); err != nil {
		t.Fatal(err)
	}
	if out := ClassifySendError(send(tx0)); out != Known {
		t.Fatalf("same tx twice: %s, want known", out)
	}
	// Same nonce, another tx, same price, while tx0 is pooled (or mined).
	if out := ClassifySendError(send(sign(0, 2, gp))); out != NonceTaken {
		t.Fatalf("same nonce: %s, want nonce-taken", out)
	}
	waitMined(t, ctx, mc.c, tx0)
	// Stale nonce: nonce too low.
	err = send(sign(0, 3, gp))
	if out := ClassifySendError(err); out != NonceTaken || !strings.Contains(err.Error(), "nonce too low") {
		t.Fatalf("stale nonce: %v (%s)", err, ClassifySendError(err))
	}
	// Below the base fee: underpriced.
	if out := ClassifySendError(send(sign(1, 4, big.NewInt(1)))); out != Underpriced {
		t.Fatalf("gas price 1: %s, want underpriced", out)
	}

	// Another worker sends nonces 1 and 2 behind the manager's back; the
	// manager learns it from "nonce too low" / "same nonce" and resyncs.
	m := a.Nonce
	if n := next(t, m); n != 1 {
		t.Fatalf("manager starts at %d, want 1", n)
	}
	m.Release(1)
	for n := uint64(1); n <= 2; n++ {
		if err := send(sign(n, 5, gp)); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := a.Send(ctx, mc.c, func(nonce uint64) (*types.Transaction, error) { return sign(nonce, 6, gp), nil })
	if err != nil || tx.Nonce() != 3 {
		t.Fatalf("Send after a concurrent sender: %v (nonce %v)", err, nonceOf(tx))
	}
	waitMined(t, ctx, mc.c, tx)

	// A send whose request never reaches the node times out: outcome
	// unknown. The next Send must not stall on the gap it left.
	black := blackHole(t)
	sctx, scancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	tx, err = a.Send(sctx, dialT(t, black.URL), func(nonce uint64) (*types.Transaction, error) { return sign(nonce, 7, gp), nil })
	scancel()
	if !errors.Is(err, ErrOutcomeUnknown) || tx == nil || tx.Nonce() != 4 {
		t.Fatalf("black-holed send: %v, tx nonce %v", err, nonceOf(tx))
	}
	tx, err = a.Send(ctx, mc.c, func(nonce uint64) (*types.Transaction, error) { return sign(nonce, 8, gp), nil })
	if err != nil || tx.Nonce() != 4 {
		t.Fatalf("send after a lost tx reused nonce %v, want 4: %v", nonceOf(tx), err)
	}
	waitMined(t, ctx, mc.c, tx)

	// A send whose answer is lost although the node took it: the manager
	// resyncs past it.
	fwd := forwardThenHang(t, mc.c.URL())
	sctx, scancel = context.WithTimeout(ctx, 1500*time.Millisecond)
	tx, err = a.Send(sctx, dialT(t, fwd.URL), func(nonce uint64) (*types.Transaction, error) { return sign(nonce, 9, gp), nil })
	scancel()
	if !errors.Is(err, ErrOutcomeUnknown) || tx.Nonce() != 5 {
		t.Fatalf("answer-lost send: %v, nonce %v", err, nonceOf(tx))
	}
	waitMined(t, ctx, mc.c, tx)
	tx, err = a.Send(ctx, mc.c, func(nonce uint64) (*types.Transaction, error) { return sign(nonce, 10, gp), nil })
	if err != nil || tx.Nonce() != 6 {
		t.Fatalf("send after a lost answer: nonce %v, want 6: %v", nonceOf(tx), err)
	}
	waitMined(t, ctx, mc.c, tx)
	if _, err := Sweep(ctx, mc.c, to, []*Account{a}, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
}

func nonceOf(tx *types.Transaction) interface{} {
	if tx == nil {
		return "none"
	}
	return tx.Nonce()
}

func waitMined(t *testing.T, ctx context.Context, c *Client, tx *types.Transaction) *Receipt {
	t.Helper()
	for {
		r, err := c.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			if r.Status != 1 {
				t.Fatalf("tx %s failed: status %d", tx.Hash().Hex(), r.Status)
			}
			return r
		}
		if !errors.Is(err, ErrNotFound) {
			t.Fatal(err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			t.Fatalf("tx %s not mined: %v", tx.Hash().Hex(), err)
		}
	}
}

// blackHole accepts requests and never answers them.
func blackHole(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Read the body, so that the server notices when the client hangs up.
		_, _ = io.Copy(io.Discard, r.Body)
		hang(r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// forwardThenHang passes each request to the node and drops the answer.
func forwardThenHang(t *testing.T, nodeURL string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Post(nodeURL, "application/json", r.Body)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		hang(r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hang waits until the client gives up, or 20 s.
func hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(20 * time.Second):
	}
}

// TestE2EFundFillsNonceGap: another worker sharing the key took a nonce and
// never sent it, so the funder's transfers queue up above a gap. Fund must
// close the gap itself instead of waiting for the receipt timeout.
func TestE2EFundFillsNonceGap(t *testing.T) {
	mc, _ := devnetEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newKeyGuard(t)
	funder := freshFunder(t, ctx, mc, g, klayAmt(t, "10"))
	// The manager believes nonce 0 is used elsewhere and starts at 1.
	n := next(t, funder.Nonce)
	funder.Nonce.Done(n, nodeErr("nonce too low: next nonce 1, tx nonce 0"))
	accs, err := DeriveAccounts(funder.PrivateKey(), NewRunID(time.Now()), 0, 5, mc.c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Fund(ctx, mc.c, funder, Addresses(accs), klayAmt(t, "0.1"), FundOptions{ReceiptTimeout: 30 * time.Second, Logger: g.logger()})
	if err != nil {
		t.Fatal(err)
	}
	g.logf("funded above a nonce gap in %s", res.Elapsed.Round(time.Millisecond))
	if res.Elapsed > 15*time.Second {
		t.Fatalf("the gap was not filled: funding took %s", res.Elapsed)
	}
	if _, err := Sweep(ctx, mc.c, funder.Address, accs, SweepOptions{}); err != nil {
		t.Fatal(err)
	}
}
