package e2e

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/report"
)

// csvCounts reads a Locust-format _stats.csv into "Type Name" → request
// and failure counts.
func csvCounts(t *testing.T, path string) map[string][2]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	out := map[string][2]int64{}
	for _, r := range rows[1:] {
		out[r[0]+" "+r[1]] = [2]int64{atoi(t, r[2]), atoi(t, r[3])}
	}
	return out
}

// Two workers under the real Locust 2.12.1 master each write a report;
// `klayslave report merge` of the two gives the master's CSV counts, row
// by row and Aggregated.
func TestTwoWorkersReportMergeEqualsMaster(t *testing.T) {
	requireLocust(t)
	dir := t.TempDir()
	s := newSink(t, 10) // before freePort: it could hand out the sink's port
	port := freePort(t)
	masterCSV := filepath.Join(dir, "master")
	master := startMaster(t, dir, port, masterCSV, "-u", "20", "-r", "10", "-t", "15s", "--expect-workers", "2")
	var workers []*proc
	var reports []string
	for i := 0; i < 2; i++ {
		rd := filepath.Join(dir, fmt.Sprintf("worker%d", i))
		reports = append(reports, filepath.Join(rd, "report.json"))
		workers = append(workers, start(t, binary, "-tc=rpcPing", "-max-rps", "100", "-report-dir", rd,
			"-mcEndpoint", s.URL, "-master-host", "127.0.0.1", "-master-port", strconv.Itoa(port)))
	}
	master.wait(t, 60*time.Second) // 1: the run had failures, as injected
	for _, w := range workers {
		if code := w.wait(t, 15*time.Second); code != 0 {
			t.Fatalf("worker exit code %d", code)
		}
		w.waitFor(t, `Report: .*report\.html`, time.Second)
	}
	merged := filepath.Join(dir, "merged")
	m := start(t, binary, append([]string{"report", "merge", "-o", merged}, reports...)...)
	if code := m.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("report merge exit code %d", code)
	}
	want := csvCounts(t, masterCSV+"_stats.csv")
	got := csvCounts(t, filepath.Join(merged, "report_stats.csv"))
	if len(got) != len(want) {
		t.Errorf("merged rows %v, master rows %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%q: merged %v requests/failures, master %v", k, got[k], w)
		}
	}
	agg := want[" Aggregated"]
	t.Logf("master Aggregated: %d requests, %d failures; merged: %v", agg[0], agg[1], got[" Aggregated"])
	if agg[0] < 1000 || agg[1] == 0 {
		t.Errorf("too little load to prove anything: %v", agg)
	}
	rep, err := report.Read(filepath.Join(merged, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Workers != 2 || rep.Total.Requests != agg[0] || rep.Total.Failures != agg[1] {
		t.Errorf("merged report.json: %d workers, total %d/%d", rep.Workers, rep.Total.Requests, rep.Total.Failures)
	}
}

// chainBlockStats is what a JSON-RPC scan says of one block.
type chainBlockStats struct {
	txs, ours int
	gas       uint64
}

// scanBlocks reads blocks first..last and counts all transactions, those
// sent by from, and the gas used.
func scanBlocks(t *testing.T, c *klay.Client, first, last uint64, from map[common.Address]bool) map[uint64]chainBlockStats {
	t.Helper()
	out := map[uint64]chainBlockStats{}
	for n := first; n <= last; n++ {
		var b struct {
			GasUsed      hexutil.Uint64 `json:"gasUsed"`
			Transactions []struct {
				From common.Address `json:"from"`
			} `json:"transactions"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Call(ctx, &b, "klay_getBlockByNumber", hexutil.Uint64(n), true)
		cancel()
		if err != nil {
			t.Fatalf("block %d: %v", n, err)
		}
		s := chainBlockStats{txs: len(b.Transactions), gas: uint64(b.GasUsed)}
		for _, tx := range b.Transactions {
			if from[tx.From] {
				s.ours++
			}
		}
		out[n] = s
	}
	return out
}

// A short standalone run on the devnet with -report-dir: report.json's
// totals are the final summary table's, and its per-block series is what a
// JSON-RPC scan of the same blocks finds: all transactions, gas, and ours
// (those sent by the run's test accounts).
func TestReportMatchesSummaryAndChain(t *testing.T) {
	d := devnettest.Load(t)
	mcKey, scKey := d.DevKeys.Spare[12], d.DevKeys.Spare[13]
	runID := fmt.Sprintf("e2e-report-%d", time.Now().UnixNano())
	dir := t.TempDir()
	rd := filepath.Join(dir, "report")
	p := startEnv(t, []string{"KLAYSLAVE_MC_KEY=" + mcKey, "KLAYSLAVE_SC_KEY=" + scKey}, binary, "run",
		"-tc=mcValueTransferTc", "-users", "5", "-max-rps", "20", "-run-time", "15s", "-numMcUser", "10", "-numScUser", "0",
		"-charge", "1", "-report-interval", "10s", "-mcEndpoint", d.MainChain.RPC, "-scEndpoint", d.ServiceChain.RPC,
		"-log-dir", dir, "-run", runID, "-report-dir", rd)
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out := p.Output()
	p.waitFor(t, `Report: `+rd+`/report\.html`, time.Second)
	rep, err := report.Read(filepath.Join(rd, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if reqs, fails := summaryRow(t, out, "Aggregated"); rep.Total.Requests != reqs || rep.Total.Failures != fails {
		t.Errorf("report.json total %d/%d, summary table %d/%d", rep.Total.Requests, rep.Total.Failures, reqs, fails)
	}
	for _, row := range rep.Rows {
		if reqs, fails := summaryRow(t, out, row.Name); row.Requests != reqs || row.Failures != fails {
			t.Errorf("report.json %q %d/%d, summary table %d/%d", row.Name, row.Requests, row.Failures, reqs, fails)
		}
	}
	if rep.Total.Requests < 200 {
		t.Errorf("%d iterations in 15 s at 20/s", rep.Total.Requests)
	}
	for k := range rep.Config {
		if k == "mcKey" || k == "scKey" {
			t.Errorf("config holds %s", k)
		}
	}
	assertNoKey(t, mcKey, out, dir)

	if len(rep.Blocks) < 10 {
		t.Fatalf("%d blocks in the report", len(rep.Blocks))
	}
	first, last := rep.Blocks[0].Number, rep.Blocks[0].Number
	for _, b := range rep.Blocks {
		if b.Chain != "main chain" {
			t.Errorf("block %d of chain %q", b.Number, b.Chain)
		}
		first, last = min(first, b.Number), max(last, b.Number)
	}
	if n := int(last - first + 1); n != len(rep.Blocks) {
		t.Errorf("the report holds %d blocks for #%d–#%d", len(rep.Blocks), first, last)
	}
	c, err := klay.Dial(context.Background(), d.MainChain.RPC, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accounts := map[common.Address]bool{}
	for _, a := range recipients(t, mcKey, runID, 10) {
		accounts[a] = true
	}
	chain := scanBlocks(t, c, first, last, accounts)
	var ours int
	for _, b := range rep.Blocks {
		w := chain[b.Number]
		if b.Txs != w.txs || b.Gas != w.gas || b.Ours != w.ours {
			t.Errorf("block %d: report %d txs, %d ours, %d gas; chain %d, %d, %d", b.Number, b.Txs, b.Ours, b.Gas, w.txs, w.ours, w.gas)
		}
		ours += b.Ours
	}
	t.Logf("%d iterations; blocks #%d–#%d hold %d of the run's transactions", rep.Total.Requests, first, last, ours)
	if art := os.Getenv("KLAYSLAVE_ARTIFACTS"); art != "" {
		keep := filepath.Join(art, "devnet-report")
		_ = os.MkdirAll(keep, 0o755)
		files, _ := os.ReadDir(rd)
		for _, f := range files {
			if b, err := os.ReadFile(filepath.Join(rd, f.Name())); err == nil {
				_ = os.WriteFile(filepath.Join(keep, f.Name()), b, 0o644)
			}
		}
		t.Logf("report kept in %s", keep)
	}
}
