package klay

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// callLarge over HTTP sends the call as Kaia's client would and returns
// the result, the node's error as an rpc.Error, or a malformed answer as
// an error.
func TestCallLargeOverHTTP(t *testing.T) {
	var (
		mu           sync.Mutex
		answer, body string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body = string(b)
		a := answer
		mu.Unlock()
		// No kept connections: the client has no way to close its own,
		// and srv.Close would wait for them.
		w.Header().Set("Connection", "close")
		_, _ = io.WriteString(w, a)
	}))
	defer srv.Close()
	set := func(a string) {
		mu.Lock()
		answer = a
		mu.Unlock()
	}
	sent := func() string {
		mu.Lock()
		defer mu.Unlock()
		return body
	}
	c, err := Dial(context.Background(), srv.URL, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.post == nil {
		t.Fatal("an http endpoint has no raw post")
	}
	ctx := context.Background()

	set(`{"jsonrpc":"2.0","id":1,"result":[{"transactionHash":"0x01"}]}`)
	res, err := c.callLarge(ctx, "klay_getBlockReceipts", "0x2a")
	if err != nil || string(res) != `[{"transactionHash":"0x01"}]` {
		t.Fatalf("result %q, %v", res, err)
	}
	if got, want := sent(), `{"jsonrpc":"2.0","id":1,"method":"klay_getBlockReceipts","params":["0x2a"]}`; got != want {
		t.Fatalf("request %s, want %s", got, want)
	}

	set(`{"jsonrpc":"2.0","id":1,"result":null}`)
	if res, err := c.callLarge(ctx, "klay_getBlockReceipts", "0x2a"); err != nil || string(res) != "null" {
		t.Fatalf("null result: %q, %v", res, err)
	}

	set(`{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method klay_getBlockReceipts does not exist/is not available"}}`)
	if _, err := c.callLarge(ctx, "klay_getBlockReceipts", "0x2a"); !isMethodNotFound(err) {
		t.Fatalf("error answer gave %v, want method not found", err)
	}

	for _, bad := range []string{`not json`, `{"jsonrpc":"2.0","id":1}`, `[1,2]`} {
		set(bad)
		if _, err := c.callLarge(ctx, "klay_getBlockReceipts", "0x2a"); err == nil || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("answer %q: error %v, want one naming the node", bad, err)
		}
	}
}
