package tc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/klayslave/klayslave/jsonrpc"
)

// readNode answers the read cases' calls; wrong, when set, names a method
// it answers wrongly.
type readNode struct {
	mu    sync.Mutex
	head  uint64
	wrong string
	calls map[string]int
}

func (f *readNode) answer(method string, params []json.RawMessage) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	bad := f.wrong == method
	switch method {
	case "klay_blockNumber":
		if bad {
			return "0x1"
		}
		return fmt.Sprintf("%#x", f.head)
	case "klay_gasPrice":
		if bad {
			return "0x0"
		}
		return "0x5d21dba00" // 25 gkei: not 750 gkei, and fine
	case "klay_getBlockByNumber", "klay_getBlockWithConsensusInfoByNumber":
		var n string
		_ = json.Unmarshal(params[0], &n)
		if bad { // a block never asked for: asked numbers are at most the head
			n = fmt.Sprintf("%#x", f.head+1)
		}
		b := map[string]any{"number": n, "hash": "0x" + strings.Repeat("ab", 32), "transactions": []any{}}
		if n == "0x5" {
			b["transactions"] = []any{map[string]any{"hash": "0x" + strings.Repeat("cd", 32), "from": "0x" + strings.Repeat("11", 20), "blockNumber": "0x5"}}
		}
		return b
	case "klay_getBalance":
		if bad {
			return "12"
		}
		return "0xde0b6b3a7640000"
	}
	return nil
}

func (f *readNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	type req struct {
		ID     json.RawMessage   `json:"id"`
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
	}
	var body json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	one := func(q req) map[string]any {
		return map[string]any{"jsonrpc": "2.0", "id": q.ID, "result": f.answer(q.Method, q.Params)}
	}
	if strings.HasPrefix(strings.TrimSpace(string(body)), "[") {
		var qs []req
		_ = json.Unmarshal(body, &qs)
		var out []any
		for _, q := range qs {
			out = append(out, one(q))
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var q req
	_ = json.Unmarshal(body, &q)
	_ = json.NewEncoder(w).Encode(one(q))
}

// TestReadsAgainstFakeNode runs the reads that need no chain key against a
// fake node: right answers pass, wrong answers fail with a reason.
func TestReadsAgainstFakeNode(t *testing.T) {
	node := &readNode{head: 100, calls: map[string]int{}}
	srv := httptest.NewServer(node)
	defer srv.Close()
	env := &Env{MCEndpoint: srv.URL, HTTP: &http.Client{Transport: jsonrpc.NewTransport(4)}}
	reg := Builtin()
	ctx := context.Background()
	for _, c := range []struct{ name, method, wrong string }{
		{"rpcPing", "klay_blockNumber", ""},
		{"readBlockNumber", "klay_blockNumber", "block number 1: the head was 100 at set-up"},
		{"readGasPrice", "klay_gasPrice", "gas price 0: want a positive price"},
		{"readGetBlockByNumber", "klay_getBlockByNumber", "got block 101"},
		{"readGetBlockWithConsensusInfoByNumber", "klay_getBlockWithConsensusInfoByNumber", "got block 101"},
		{"readGetBalance", "klay_getBalance", "not a hex quantity"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, ok := reg.Lookup(c.name)
			if !ok || cs.Family != "read" || cs.NeedsChains {
				t.Fatalf("%s: found %v, family %q, needs chains %v", c.name, ok, cs.Family, cs.NeedsChains)
			}
			task, err := cs.New(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			rec := newCounts()
			node.mu.Lock()
			before := node.calls[c.method]
			node.mu.Unlock()
			for range 50 {
				iterate(ctx, task, rec)
			}
			rec.failures(t)
			if ok, _ := rec.get(c.name); ok != 50 {
				t.Fatalf("%d successes of 50", ok)
			}
			node.mu.Lock()
			calls := node.calls[c.method] - before
			node.mu.Unlock()
			if calls < 50 {
				t.Fatalf("%d calls of %s for 50 iterations", calls, c.method)
			}
			if c.wrong == "" {
				return
			}
			node.mu.Lock()
			node.wrong = c.method
			node.mu.Unlock()
			defer func() { node.mu.Lock(); node.wrong = ""; node.mu.Unlock() }()
			rec = newCounts()
			iterate(ctx, task, rec)
			if _, fail := rec.get(c.name); fail != 1 || !strings.Contains(rec.errs[c.name], c.wrong) {
				t.Fatalf("a wrong answer: %d failures, %q; want %q", fail, rec.errs[c.name], c.wrong)
			}
		})
	}
}

// TestReadsNeedAccounts checks that a read that needs test accounts says so
// when there are none.
func TestReadsNeedAccounts(t *testing.T) {
	for _, name := range []string{"readGetAccount", "readCall", "readGetStorageAt", "readEstimateGas", "receiptCheckTx"} {
		cs, _ := Builtin().Lookup(name)
		_, err := cs.New(context.Background(), &Env{MCEndpoint: "http://127.0.0.1:1"})
		if err == nil || !strings.Contains(err.Error(), name+": needs main-chain test accounts") {
			t.Errorf("%s without accounts: %v", name, err)
		}
	}
}
