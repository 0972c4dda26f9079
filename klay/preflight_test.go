package klay

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeNode is a tiny JSON-RPC server on 127.0.0.1 that answers the methods
// in its table and says "method not found" to the rest.
func fakeNode(t *testing.T, answers map[string]interface{}) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "batch not supported", http.StatusBadRequest)
			return
		}
		resp := map[string]interface{}{"jsonrpc": "2.0", "id": req.ID}
		if a, ok := answers[req.Method]; ok {
			resp["result"] = a
		} else {
			resp["error"] = map[string]interface{}{"code": -32601, "message": "the method " + req.Method + " does not exist/is not available"}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func dialT(t testing.TB, url string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), url, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func wantPreflight(t *testing.T, err error, check string, mustContain ...string) {
	t.Helper()
	var pe *PreflightError
	if !errors.As(err, &pe) {
		t.Fatalf("want *PreflightError(%s), got %v", check, err)
	}
	if pe.Check != check {
		t.Fatalf("check %s, want %s: %v", pe.Check, check, err)
	}
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("message is not one line: %q", err)
	}
	for _, s := range mustContain {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("message %q lacks %q", err, s)
		}
	}
	t.Logf("%s: %v", check, err)
}

func TestPreflightNamespaceMissing(t *testing.T) {
	srv := fakeNode(t, map[string]interface{}{
		"rpc_modules":  map[string]string{"eth": "1.0", "net": "1.0"},
		"klay_chainID": nil, // answered with null: reachable
	})
	c := dialT(t, srv.URL)
	err := Preflight(context.Background(), c, PreflightConfig{Label: "main chain"})
	wantPreflight(t, err, CheckModules, srv.URL, `"klay"`, "--rpcapi must include klay")
}

func TestPreflightNamespaceProbeWithoutRPCModules(t *testing.T) {
	srv := fakeNode(t, map[string]interface{}{"eth_blockNumber": "0x1"})
	c := dialT(t, srv.URL)
	err := CheckRPCModules(context.Background(), c, "klay")
	wantPreflight(t, err, CheckModules, srv.URL, "--rpcapi must include klay")
	if err := CheckRPCModules(context.Background(), c, "eth"); err != nil {
		t.Fatalf("eth is served: %v", err)
	}
}

func TestPreflightUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // now nothing listens there
	c := dialT(t, url)
	err = Preflight(context.Background(), c, PreflightConfig{Label: "service chain", URLFlag: "-scEndpoint"})
	wantPreflight(t, err, CheckReachable, url, "not reachable", "-scEndpoint")
}

func TestPreflightChainIDAndBlocksAndBalance(t *testing.T) {
	srv := fakeNode(t, map[string]interface{}{
		"rpc_modules":      map[string]string{"klay": "1.0"},
		"klay_chainID":     "0x7e2",
		"klay_blockNumber": "0x10", // never moves
		"klay_getBalance":  "0xde0b6b3a7640000",
		"klay_gasPrice":    "0x5d21dba00",
	})
	c := dialT(t, srv.URL)
	ctx := context.Background()
	wantPreflight(t, CheckChain(ctx, c, big.NewInt(1002)), CheckChainID, srv.URL, "2018", "1002")
	if err := CheckChain(ctx, c, big.NewInt(2018)); err != nil {
		t.Fatal(err)
	}
	wantPreflight(t, CheckNewBlocks(ctx, c, 100_000_000), CheckBlocks, srv.URL, "#16")
	funder := KeyAddress(mustKey(t, testKeyHex))
	charge, _ := ParseKLAY("0.5")
	err := CheckFunderBalance(ctx, c, "main chain", funder, 10, charge)
	wantPreflight(t, err, CheckBalance, funder.Hex(), "has 1 KLAY", "needs 5.00525 KLAY", "10 users × 0.5 KLAY")
	if err := CheckFunderBalance(ctx, c, "main chain", funder, 1, charge); err != nil {
		t.Fatal(err)
	}
}

func TestKLAYUnits(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "0.5": "0.5", "100.000001": "100.000001", "0": "0", "0.000000000000000001": "0.000000000000000001"} {
		v, err := ParseKLAY(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatKLAY(v); got != want {
			t.Errorf("%s → %s", in, got)
		}
	}
	if _, err := ParseKLAY("-1"); err == nil {
		t.Error("negative accepted")
	}
	if _, err := ParseKLAY("0.0000000000000000001"); err == nil {
		t.Error("19 decimals accepted")
	}
}
