// Package sendcost measures what one signed-transaction iteration costs
// klayslave in CPU, without a node, against Kaia's bare build-plus-sign of
// the same transaction, in the same run (issue: "the main-chain
// catalogue", benchmarks).
//
//	go test -run '^$' -bench . -benchtime 20000x ./bench/sendcost
//
// The node is a sink in a child process (this test binary re-run): it
// accepts any raw transaction, alone or in a JSON-RPC batch, and answers
// with its hash, so its CPU is not klayslave's. Inclusion comes from a
// tracker that declares every tracked transaction included each 10 ms (a
// block), so the measure is the path a user runs: the runner, the case
// (build, sign at the cached gas price), the lane, the send, the verdict
// and the stats. Block scanning is the scanner's own benchmark.
package sendcost

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/jsonrpc"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
	"github.com/klayslave/klayslave/tc"
)

const sinkEnv = "SENDCOST_SINK"

func TestMain(m *testing.M) {
	if os.Getenv(sinkEnv) == "1" {
		serveSink()
		return
	}
	os.Exit(m.Run())
}

// serveSink answers until its stdin closes.
func serveSink() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }()
	_ = http.Serve(ln, http.HandlerFunc(sinkHandler))
}

type rpcReq struct {
	ID     json.RawMessage   `json:"id"`
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

func sinkAnswer(q rpcReq) map[string]interface{} {
	out := map[string]interface{}{"jsonrpc": "2.0", "id": q.ID}
	switch q.Method {
	case "klay_sendRawTransaction", "eth_sendRawTransaction":
		var raw hexutil.Bytes
		if len(q.Params) == 1 && json.Unmarshal(q.Params[0], &raw) == nil {
			out["result"] = crypto.Keccak256Hash(raw)
		} else {
			out["error"] = map[string]interface{}{"code": -32602, "message": "bad raw transaction"}
		}
	case "klay_gasPrice", "eth_gasPrice":
		out["result"] = "0x5d21dba00" // 25 gkei
	case "klay_maxPriorityFeePerGas", "eth_maxPriorityFeePerGas":
		out["result"] = "0x0"
	case "klay_estimateGas", "eth_estimateGas":
		out["result"] = "0x5208"
	case "klay_getTransactionCount", "eth_getTransactionCount":
		out["result"] = "0x0"
	case "klay_getBalance", "eth_getBalance":
		out["result"] = "0xffffffffffffffffffffffffffff"
	case "klay_getCode", "eth_getCode":
		out["result"] = "0x6080" // any code: a given contract is taken as deployed
	case "klay_getHeaderByNumber", "eth_getHeaderByNumber":
		out["result"] = map[string]string{"number": "0x1", "baseFeePerGas": "0x5d21dba00"}
	case "klay_chainID", "eth_chainId":
		out["result"] = "0x7e2"
	case "klay_blockNumber", "eth_blockNumber":
		out["result"] = "0x1"
	default:
		out["error"] = map[string]interface{}{"code": -32601, "message": "the method " + q.Method + " does not exist"}
	}
	return out
}

// sinkHash answers every raw transaction: the lanes track a transaction
// by the hash of its bytes, not by the node's answer.
const sinkHash = `"0x00000000000000000000000000000000000000000000000000000000000000aa"`

// sendBatchAnswer answers a batch of raw transactions by scanning it, not
// decoding it: the sink shares the cores with the measured process, and
// the less it takes the less it disturbs the measure. ok is false for any
// other body.
func sendBatchAnswer(body []byte) ([]byte, bool) {
	elems, ok := jsonrpc.Elements(body)
	if !ok || len(elems) == 0 {
		return nil, false
	}
	out := make([]byte, 0, 100*len(elems))
	out = append(out, '[')
	for i, e := range elems {
		m, _ := jsonrpc.Field(e, "method")
		id, ok := jsonrpc.Field(e, "id")
		if !ok || (string(m) != `"klay_sendRawTransaction"` && string(m) != `"eth_sendRawTransaction"`) {
			return nil, false
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"jsonrpc":"2.0","id":`...)
		out = append(out, id...)
		out = append(out, `,"result":`+sinkHash+`}`...)
	}
	return append(out, ']'), true
}

func sinkHandler(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	if out, ok := sendBatchAnswer(body); ok {
		_, _ = w.Write(out)
		return
	}
	var batch []rpcReq
	if json.Unmarshal(body, &batch) == nil {
		out := make([]map[string]interface{}, len(batch))
		for i, q := range batch {
			out[i] = sinkAnswer(q)
		}
		_ = json.NewEncoder(w).Encode(out)
		return
	}
	var one rpcReq
	_ = json.Unmarshal(body, &one)
	_ = json.NewEncoder(w).Encode(sinkAnswer(one))
}

// startSink runs the sink in a child process and returns its URL.
func startSink(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sinkEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(line)
}

// blockTracker declares every tracked transaction included, in a block
// each 10 ms, and tells the lanes of each block.
type blockTracker struct {
	mu      sync.Mutex
	head    uint64
	pending map[common.Hash]func(klay.Inclusion)
}

func (t *blockTracker) Track(h common.Hash, done func(klay.Inclusion)) {
	t.mu.Lock()
	t.pending[h] = done
	t.mu.Unlock()
}

func (t *blockTracker) Untrack(h common.Hash) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.pending[h]
	delete(t.pending, h)
	return ok
}

func (t *blockTracker) Head() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.head
}

func (t *blockTracker) run(ctx context.Context, lanes *klay.Lanes) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.mu.Lock()
			t.head++
			n, done := t.head, t.pending
			t.pending = map[common.Hash]func(klay.Inclusion){}
			t.mu.Unlock()
			for h, f := range done {
				f(klay.Inclusion{Hash: h, Block: n, Time: now, Status: 1, GasUsed: 21000})
			}
			lanes.OnBlock(ctx, n)
		}
	}
}

// cpu returns the process's user + system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// counter counts iterations and signals when n have ended.
type counter struct {
	inner stats.Sink
	mu    sync.Mutex
	n     int
	want  int
	done  chan struct{}
}

func (c *counter) Record(r stats.Result) {
	c.inner.Record(r)
	if r.Aside {
		return
	}
	c.mu.Lock()
	c.n++
	if c.n == c.want {
		close(c.done)
	}
	c.mu.Unlock()
}

// kind is one transaction type: its case and its bare build-plus-sign.
type kind struct {
	name string // a klayslave case
	bare func(key *ecdsa.PrivateKey, feePayer *ecdsa.PrivateKey, nonce uint64, to common.Address, chainID *big.Int) ([]byte, error)
}

var (
	gasPrice = big.NewInt(25_000_000_000)
	kvstore  = mustLoad(contracts.KVStore)
	// kvAddr is the KVStore the cases are given (-contracts); the sink
	// says it has code.
	kvAddr = common.HexToAddress("0x00000000000000000000000000000000000c0de5")
)

func mustLoad(name string) *contracts.Contract {
	c, err := contracts.Load(name)
	if err != nil {
		panic(err)
	}
	return c
}

func kinds() []kind {
	ks := []kind{
		{"newValueTransferTC", func(key, _ *ecdsa.PrivateKey, nonce uint64, to common.Address, id *big.Int) ([]byte, error) {
			tx, err := types.NewTransactionWithMap(types.TxTypeValueTransfer, map[types.TxValueKeyType]interface{}{
				types.TxValueKeyNonce: nonce, types.TxValueKeyFrom: crypto.PubkeyToAddress(key.PublicKey), types.TxValueKeyTo: to,
				types.TxValueKeyAmount: big.NewInt(tc.TransferValuePeb), types.TxValueKeyGasLimit: uint64(21000), types.TxValueKeyGasPrice: gasPrice,
			})
			if err != nil {
				return nil, err
			}
			if err := tx.SignWithKeys(types.LatestSignerForChainID(id), []*ecdsa.PrivateKey{key}); err != nil {
				return nil, err
			}
			return tx.MarshalBinary()
		}},
		{"newFeeDelegatedValueTransferWithRatioTC", func(key, fp *ecdsa.PrivateKey, nonce uint64, to common.Address, id *big.Int) ([]byte, error) {
			tx, err := types.NewTransactionWithMap(types.TxTypeFeeDelegatedValueTransferWithRatio, map[types.TxValueKeyType]interface{}{
				types.TxValueKeyNonce: nonce, types.TxValueKeyFrom: crypto.PubkeyToAddress(key.PublicKey), types.TxValueKeyTo: to,
				types.TxValueKeyAmount: big.NewInt(tc.TransferValuePeb), types.TxValueKeyGasLimit: uint64(31000), types.TxValueKeyGasPrice: gasPrice,
				types.TxValueKeyFeePayer: crypto.PubkeyToAddress(fp.PublicKey), types.TxValueKeyFeeRatioOfFeePayer: types.FeeRatio(tc.NativeFeeRatio),
			})
			if err != nil {
				return nil, err
			}
			signer := types.LatestSignerForChainID(id)
			if err := tx.SignWithKeys(signer, []*ecdsa.PrivateKey{key}); err != nil {
				return nil, err
			}
			if err := tx.SignFeePayerWithKeys(signer, []*ecdsa.PrivateKey{fp}); err != nil {
				return nil, err
			}
			return tx.MarshalBinary()
		}},
		// As kaia-load-tester's, the case is at random a transfer, a
		// KVStore deployment or a KVStore.set: the bare cost is that of the
		// same three in turn.
		{"ethereumTxDynamicFeeTC", func(key, _ *ecdsa.PrivateKey, nonce uint64, to common.Address, id *big.Int) ([]byte, error) {
			m := map[types.TxValueKeyType]interface{}{
				types.TxValueKeyNonce: nonce, types.TxValueKeyAmount: big.NewInt(0), types.TxValueKeyGasLimit: uint64(300000),
				types.TxValueKeyGasFeeCap: gasPrice, types.TxValueKeyGasTipCap: big.NewInt(0), types.TxValueKeyAccessList: types.AccessList{},
				types.TxValueKeyChainID: id,
			}
			switch nonce % 3 {
			case 0:
				m[types.TxValueKeyTo], m[types.TxValueKeyData] = &to, []byte{}
				m[types.TxValueKeyAmount] = big.NewInt(tc.TransferValuePeb)
			case 1:
				m[types.TxValueKeyTo], m[types.TxValueKeyData] = (*common.Address)(nil), kvstore.Bin
			default:
				data, err := kvstore.ABI.Pack("set", new(big.Int).SetUint64(nonce), big.NewInt(7))
				if err != nil {
					return nil, err
				}
				m[types.TxValueKeyTo], m[types.TxValueKeyData] = &kvAddr, data
			}
			tx, err := types.NewTransactionWithMap(types.TxTypeEthereumDynamicFee, m)
			if err != nil {
				return nil, err
			}
			if err := tx.SignWithKeys(types.LatestSignerForChainID(id), []*ecdsa.PrivateKey{key}); err != nil {
				return nil, err
			}
			return tx.MarshalBinary()
		}},
		// The saturation benchmark's case: the same transfer as
		// newValueTransferTC, through the older baseline's code.
		{"mcValueTransferTc", nil},
	}
	ks[len(ks)-1].bare = ks[0].bare
	return ks
}

func keys(b *testing.B, n int) []*ecdsa.PrivateKey {
	out := make([]*ecdsa.PrivateKey, n)
	for i := range out {
		k, err := crypto.GenerateKey()
		if err != nil {
			b.Fatal(err)
		}
		out[i] = k
	}
	return out
}

// bareCPU is the CPU time of one bare build-plus-sign-plus-encode, over n,
// made by as many goroutines as the iterations get cores (GOMAXPROCS):
// two hyperthreads signing at once each sign slower than one alone, and
// the iterations sign on all of them.
func bareCPU(b *testing.B, k kind, n int) time.Duration {
	id := big.NewInt(2018)
	procs := runtime.GOMAXPROCS(0)
	work := func(count int) {
		var wg sync.WaitGroup
		for range procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ks := keys(b, 2)
				to := crypto.PubkeyToAddress(ks[1].PublicKey)
				for i := range count / procs {
					if _, err := k.bare(ks[0], ks[1], uint64(i), to, id); err != nil {
						panic(err)
					}
				}
			}()
		}
		wg.Wait()
	}
	work(200 * procs) // warm up
	start := cpu()
	work(n)
	return (cpu() - start) / time.Duration(n/procs*procs)
}

// BenchmarkBare is Kaia's build, sign and encode of each kind, alone.
func BenchmarkBare(b *testing.B) {
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			ks := keys(b, 2)
			id := big.NewInt(2018)
			to := crypto.PubkeyToAddress(ks[1].PublicKey)
			start := cpu()
			b.ResetTimer()
			for i := range b.N {
				if _, err := k.bare(ks[0], ks[1], uint64(i), to, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cpu()-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkIteration runs each kind's case through the runner against the
// sink and reports its CPU per iteration and the ratio to the bare cost
// measured just before, in the same process.
func BenchmarkIteration(b *testing.B) {
	url := startSink(b)
	reg := tc.Builtin()
	for _, k := range kinds() {
		b.Run(k.name, func(b *testing.B) {
			c, ok := reg.Lookup(k.name)
			if !ok {
				b.Skipf("no case %s", k.name)
			}
			// Bare and iteration costs are measured in turns, so that
			// whatever else the machine does weighs on both alike; the
			// median of the turns' ratios is reported.
			// Each bare turn signs as many as the iteration turn beside
			// it: on a shared machine a short bare turn made the ratio
			// swing by ±5 %.
			const turns = 9
			run := iterations(b, url, c)
			var bare, iter time.Duration
			var ratios []float64
			b.ResetTimer()
			for t := range turns {
				n := max(b.N/turns, 1000)
				if t == turns-1 {
					n = max(b.N-(turns-1)*(b.N/turns), 1000)
				}
				bt := bareCPU(b, k, n)
				it := run(n)
				bare += bt
				iter += it
				ratios = append(ratios, float64(it)/float64(bt))
			}
			b.StopTimer()
			sort.Float64s(ratios)
			b.ReportMetric(float64(iter.Nanoseconds())/turns/1e3, "cpu-µs/op")
			b.ReportMetric(float64(bare.Nanoseconds())/turns/1e3, "bare-cpu-µs/op")
			b.ReportMetric(ratios[turns/2], "x-bare")
		})
	}
}

const (
	users    = 64
	accounts = 64
)

// iterations prepares case c against the sink and returns a function that
// runs n iterations and gives their CPU time each.
func iterations(b *testing.B, url string, c tc.Case) func(n int) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	client, err := klay.Dial(ctx, url, users+8)
	if err != nil {
		b.Fatal(err)
	}
	id := big.NewInt(2018)
	var accs, payers []*klay.Account
	for _, k := range keys(b, accounts) {
		accs = append(accs, klay.NewAccount(k, client))
	}
	for _, k := range keys(b, 4) {
		payers = append(payers, klay.NewAccount(k, client))
	}
	tr := &blockTracker{pending: map[common.Hash]func(klay.Inclusion){}}
	lanes, err := klay.NewLanes(klay.LanesConfig{Client: client, Tracker: tr, Accounts: accs, MaxPending: 64})
	if err != nil {
		b.Fatal(err)
	}
	go tr.run(ctx, lanes)
	chain := &tc.Chain{Name: "main", Client: client, ChainID: id, Funder: payers[0], Accounts: accs, Lanes: lanes, FeePayers: payers}
	env := &tc.Env{MCEndpoint: url, HTTP: http.DefaultClient, MC: chain, SC: chain,
		Contracts: map[string]common.Address{contracts.KVStore: kvAddr}}
	task, err := c.New(ctx, env)
	if err != nil {
		b.Fatalf("preparing %s: %v", c.Name, err)
	}
	collector := stats.NewCollector(nil)
	run := func(n int) time.Duration {
		cnt := &counter{inner: collector, want: n, done: make(chan struct{})}
		r := runner.New(runner.Config{Tasks: []runner.Named{{Name: c.Name, Task: task}}, Sink: cnt})
		start := cpu()
		r.Spawn(map[string]int{"user": users})
		select {
		case <-cnt.done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("%d of %d iterations after 5 minutes", cnt.n, n)
		}
		spent := cpu() - start
		stopCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		r.Stop(stopCtx)
		stop()
		return spent / time.Duration(n)
	}
	run(2000) // warm up: connections, lanes' nonces, caches
	b.Cleanup(func() {
		for _, e := range collector.Errors() {
			b.Errorf("%s: %d × %s", e.Name, e.Occurrences, e.Error)
		}
	})
	return run
}
