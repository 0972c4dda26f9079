package klay

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
)

// FuzzRPCResponses feeds arbitrary bytes, as a node's HTTP response body, to
// every typed call the load path and the pre-flight checks make. A broken or
// hostile node must give errors, never a panic.
//
//	go test ./klay -run=^$ -fuzz=FuzzRPCResponses -fuzztime=60s
func FuzzRPCResponses(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"result":"0x7e2"}`,
		`{"jsonrpc":"2.0","id":1,"result":null}`,
		`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method klay_chainID does not exist/is not available"}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"status":"0x1","gasUsed":"0x5208","effectiveGasPrice":"0x66720b300","blockNumber":"0x10","transactionHash":"0x01","logs":[]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"klay":"1.0","kaia":"1.0"}}`,
		`{"jsonrpc":"2.0","id":1,"result":"0xffffffffffffffffffffffffffffffffff"}`,
		`[{"jsonrpc":"2.0","id":1,"result":"0x1"}]`,
		`not json`,
	} {
		f.Add([]byte(seed))
	}
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body.Load().([]byte))
	}))
	defer srv.Close()
	c, err := Dial(context.Background(), srv.URL, 2)
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	addr := common.HexToAddress("0x01")
	f.Fuzz(func(t *testing.T, data []byte) {
		body.Store(data)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = c.ChainID(ctx)
		_, _ = c.GasPrice(ctx)
		_, _ = c.BlockNumber(ctx)
		_, _ = c.BalanceAt(ctx, addr, nil)
		_, _ = c.PendingNonceAt(ctx, addr)
		_, _ = c.RPCModules(ctx)
		if r, err := c.TransactionReceipt(ctx, common.Hash{}); err == nil {
			_ = r.Fee()
		}
		_, _ = c.TransactionReceipts(ctx, []common.Hash{{}, {1}})
		// The node's error text is classified too.
		e := errors.New(string(data))
		_ = ClassifySendError(e)
		_, _ = NextNonceFromError(e)
	})
}
