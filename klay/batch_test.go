package klay

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// A node answering a batch with more elements than asked makes Kaia's
// batch block forever; BatchCall still returns when its context ends.
func TestBatchCallBoundedOnOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `[{"jsonrpc":"2.0","id":1,"result":"0x1"},{"jsonrpc":"2.0","id":2,"result":"0x2"},{"jsonrpc":"2.0","id":3,"result":"0x3"}]`)
	}))
	defer srv.Close()
	c, err := Dial(context.Background(), srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	var n hexutil.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.BatchCall(ctx, []rpc.BatchElem{{Method: "klay_blockNumber", Result: &n}})
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("BatchCall took %v on an oversized answer", took)
	}
	t.Logf("err = %v", err)
}
