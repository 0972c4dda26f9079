package prom

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

func tx(method, name string, err error) stats.Result {
	return stats.Result{Method: method, Name: name, Err: err, Latency: 1500 * time.Millisecond,
		Case: "mcValueTransferTc", Chain: "main", Aside: method == methodSend || strings.HasSuffix(name, " unconfirmed")}
}

func TestRecordCountsByRowKind(t *testing.T) {
	m := New()
	const c = "mcValueTransferTc"
	for _, r := range []stats.Result{
		tx(methodSend, c+" send", nil),
		tx(methodSend, c+" send", nil),
		tx(methodSend, c+" send", nil),
		tx(methodSend, c+" send", nil),
		tx(methodSend, c+" send", &klay.SendError{Outcome: klay.PoolFull, Err: errors.New("txpool is full")}),
		tx(methodTx, c, &klay.SendError{Outcome: klay.PoolFull, Err: errors.New("txpool is full")}),
		tx(methodTx, c, nil),
		tx(methodTx, c, fmt.Errorf("%w (txError 0x9)", klay.ErrReverted)),
		tx(methodTx, c, fmt.Errorf("%w within 30 blocks", klay.ErrNotIncluded)),
		tx(methodTx, c+" unconfirmed", klay.ErrUnconfirmed),
		{Method: runner.MethodIter, Name: runner.DroppedName, Aside: true, Err: runner.ErrDropped},
		{Method: "POST", Name: "rpcPing"},
	} {
		m.Record(r)
	}
	check := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("sent", testutil.ToFloat64(m.sent.WithLabelValues(c, "main", "")), 4)
	check("send errors pool-full", testutil.ToFloat64(m.sendErrors.WithLabelValues(c, "main", "", "pool-full")), 1)
	check("included success", testutil.ToFloat64(m.included.WithLabelValues(c, "main", "", "success")), 1)
	check("included reverted", testutil.ToFloat64(m.included.WithLabelValues(c, "main", "", "reverted")), 1)
	check("not included timeout", testutil.ToFloat64(m.notIncluded.WithLabelValues(c, "main", "", "timeout")), 1)
	check("unconfirmed", testutil.ToFloat64(m.notIncluded.WithLabelValues(c, "main", "", "unconfirmed")), 1)
	check("dropped", testutil.ToFloat64(m.dropped), 1)
	check("iterations success", testutil.ToFloat64(m.iterations.WithLabelValues(c, "main", "", "success")), 1)
	check("iterations failure", testutil.ToFloat64(m.iterations.WithLabelValues(c, "main", "", "failure")), 3)
	check("rpcPing iterations", testutil.ToFloat64(m.iterations.WithLabelValues("rpcPing", "", "", "success")), 1)
	if n := testutil.CollectAndCount(m.sendLatency); n != 1 {
		t.Errorf("send latency series = %d, want 1", n)
	}
	if problems, err := testutil.GatherAndLint(m.Registry()); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestLabelsFromBridgeRowNames(t *testing.T) {
	k, c, d := labelsOf(stats.Result{Method: "e2e", Name: "scValueTransferWithCheckTc service→main e2e"})
	if k != "scValueTransferWithCheckTc" || c != "" || d != "service-to-main" {
		t.Errorf("labels = %q %q %q", k, c, d)
	}
}

func TestSendReasonIsBounded(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&klay.SendError{Outcome: klay.Rejected, Err: klay.ErrOutOfFunds}, "out-of-funds"},
		{fmt.Errorf("%w: context deadline exceeded", klay.ErrLaneFull), "lane-full"},
		{&klay.SendError{Outcome: klay.NonceTaken, Err: errors.New("nonce too low")}, "nonce-taken"},
		{&klay.SendError{Outcome: klay.Unknown, Err: errors.New("EOF")}, "unknown"},
		{fmt.Errorf("send: %w", context.Canceled), "stopped"},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), "timeout"},
		{errors.New("some text 0xdeadbeef that must not become a label"), "unknown"},
	} {
		if got := SendReason(tc.err); got != tc.want {
			t.Errorf("SendReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

type fakePool struct {
	calls atomic.Int64
	fail  bool
}

func (f *fakePool) TxPoolStatus(ctx context.Context) (klay.PoolStatus, error) {
	f.calls.Add(1)
	if f.fail {
		<-ctx.Done() // a node that does not answer: the poll's bound ends it
		return klay.PoolStatus{}, ctx.Err()
	}
	return klay.PoolStatus{Pending: 7, Queued: 2}, nil
}

func TestPollPoolSetsGaugesAndBoundsEachPoll(t *testing.T) {
	m := New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.PollPool(ctx, "main", &fakePool{}, 10*time.Millisecond, nil); close(done) }()
	slow := &fakePool{fail: true}
	go m.PollPool(ctx, "service", slow, 10*time.Millisecond, nil)
	waitFor(t, func() bool {
		return testutil.ToFloat64(m.poolPending.WithLabelValues("main")) == 7 &&
			testutil.ToFloat64(m.poolQueued.WithLabelValues("main")) == 2 &&
			testutil.ToFloat64(m.poolErrors.WithLabelValues("service")) >= 2
	})
	cancel()
	<-done
}

func TestServeAnswersLintCleanMetrics(t *testing.T) {
	m := New()
	m.Users(func() int { return 3 })
	m.InFlight("main", func() int { return 5 })
	m.InFlight("service", func() int { return 1 })
	m.OnBlock("main", klay.BlockStats{Number: 9, Txs: 12, Ours: 10})
	m.Record(tx(methodSend, "mcValueTransferTc send", nil))
	s, err := Serve("127.0.0.1:0", m.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v\n%s", problems, err, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE "); name != "" && !strings.HasPrefix(name, "klayslave_") {
			t.Errorf("a name without the klayslave_ prefix: %q", line)
		}
	}
	for _, want := range []string{
		`klayslave_users 3`,
		`klayslave_transactions_in_flight{chain="service"} 1`,
		`klayslave_block_transactions_total{chain="main",scope="ours"} 10`,
		`klayslave_last_block_transactions{chain="main",scope="all"} 12`,
		`klayslave_transactions_sent_total{case="mcValueTransferTc",chain="main",direction=""} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %q in\n%s", want, body)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Error("still answering after Close")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
