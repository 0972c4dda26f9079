package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
)

// plain is klayslave built without -race: the saturation test needs the
// chain, not the race detector's 5-10× CPU, to be what limits the rate.
var plain struct {
	once sync.Once
	path string
	err  error
}

func plainBinary(t *testing.T) string {
	t.Helper()
	plain.once.Do(func() {
		plain.path = filepath.Join(filepath.Dir(binary), "klayslave-plain")
		out, err := exec.Command("go", "build", "-o", plain.path, "../cmd/klayslave").CombinedOutput()
		if err != nil {
			plain.err = fmt.Errorf("building klayslave: %v: %s", err, oneLine(string(out)))
		}
	})
	if plain.err != nil {
		t.Fatal(plain.err)
	}
	return plain.path
}

// Four workers share one funder key and run mcValueTransferTc closed-loop
// (50 users and 50 accounts each) for 60 s through the real Locust 2.12.1
// master. The master's successful iterations equal, exactly, the run's
// transfers that the blocks hold, and its Aggregated row equals the sum of
// what the workers recorded.
//
// The master runs the web-UI flow with --autostart, not --headless: at -t
// a headless master quits, and gives quitting workers 0.5 s, so
// transactions still on their way to a block would be reported as failures
// that the chain may still include. With --autostart, -t makes the master
// send `stop` (locust/main.py stop_and_optionally_quit: runner.stop(),
// which waits until every worker reported its users stopped), so each
// worker has its whole -stop-timeout + -drain-timeout; --autoquit then
// quits a few seconds later.
func TestFourWorkersSaturationExactCounts(t *testing.T) {
	requireLocust(t)
	n := ownDevnet(t)
	bin := plainBinary(t)
	cn := n.cnClient(t)
	ctx := context.Background()
	first, err := cn.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	port := freePort(t)
	csv := filepath.Join(dir, "sat")
	master := start(t, "locust", "-f", writeLocustfile(t, dir), "--master", "--autostart",
		"-u", "200", "-r", "200", "-t", "60s", "--autoquit", "5", "--expect-workers", "4",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(freePort(t)), "--csv", csv)
	var workers []*proc
	for i := range 4 {
		workers = append(workers, startEnv(t, []string{"KLAYSLAVE_MC_KEY=" + n.funderKey}, bin,
			// Four workers share the node's pool: 4 × 50 accounts × 20 in
			// flight stays under Kaia's 4,096 pending slots. Beyond them the
			// EN evicts pending transactions that its CN may still hold and
			// mine blocks later (the lanes now keep such a transaction
			// awaited while its nonce is unspent; run X in
			// docs/benchmarks.md).
			// -charge 50: at saturation the base fee reaches its 750 gkei
			// cap, and a worker's account sends up to 950 transfers a
			// minute; 1 KLAY ran dry after about 60, and the rest of the
			// minute measured "out of funds".
			"-tc=mcValueTransferTc", "-numMcUser", "50", "-numScUser", "0", "-charge", "50", "-max-pending-per-account", "20",
			"-mcEndpoint", n.enRPC, "-scEndpoint", n.scRPC, "-master-port", strconv.Itoa(port),
			"-log-dir", filepath.Join(dir, "w"+strconv.Itoa(i))))
	}
	code := master.wait(t, 3*time.Minute)
	t.Logf("master exit code %d", code)

	var iters, fails int64
	var accounts []common.Address
	for i, w := range workers {
		if c := w.wait(t, time.Minute); c != 0 {
			t.Errorf("worker %d: exit code %d", i, c)
		}
		r, f := sent(t, w)
		iters, fails = iters+r, fails+f
		runID := w.waitFor(t, `setting up test accounts" run=(\S+)`, time.Second)[1]
		accounts = append(accounts, recipients(t, n.funderKey, runID, 50)...)
		d := w.waitFor(t, `worker finished" .* dropped=(\d+)`, time.Second)[1]
		t.Logf("worker %d (run %s): %d iterations, %d failed, %s dropped", i, runID, r, f, d)
		w.waitFor(t, `swept test accounts" chain="main chain" accounts=50 `, time.Second)
	}
	last, err := cn.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}

	agg := csvRow(t, csv+"_stats.csv", "Name", "Aggregated")
	if got := atoi(t, agg["Request Count"]); got != iters {
		t.Errorf("master's Aggregated row: %d iterations, the workers recorded %d", got, iters)
	}
	if got := atoi(t, agg["Failure Count"]); got != fails {
		t.Errorf("master's Aggregated row: %d failures, the workers recorded %d", got, fails)
	}
	row := csvRow(t, csv+"_stats.csv", "Name", "mcValueTransferTc")
	succeeded := atoi(t, row["Request Count"]) - atoi(t, row["Failure Count"])

	ours := addressSet(accounts)
	funder := funderAddress(t, n.funderKey)
	var included, fills, others, loaded int
	var firstLoad, lastLoad time.Time
	for _, b := range readBlocks(t, cn, first+1, last) {
		k, f := runTransfers(b, ours, funder)
		included, fills = included+k, fills+f
		// bench/blockcount.py's rule: neither from nor to the funder.
		for _, tx := range b.Txs {
			if tx.From != funder && tx.To != funder && !ours[tx.From] {
				others++
			}
		}
		if k > 0 {
			if firstLoad.IsZero() {
				firstLoad = b.Time
			}
			lastLoad, loaded = b.Time, loaded+1
		}
	}
	span := lastLoad.Sub(firstLoad).Seconds()
	t.Logf("blocks %d..%d: %d transfers of the run in %d blocks over %.1f s (%.0f tx/s), %d gap fills, %d other transactions; master: %d successful of %d (%d failed)",
		first+1, last, included, loaded, span, float64(included)/max(span, 1), fills, others, succeeded, atoi(t, row["Request Count"]), atoi(t, row["Failure Count"]))
	if others != 0 {
		t.Errorf("%d transactions neither from the funder nor from the run's accounts in the run's blocks", others)
	}
	if succeeded != int64(included) {
		t.Errorf("the master counts %d successful iterations, the blocks hold %d of the run's transfers", succeeded, included)
	}
	if included < 10000 {
		t.Errorf("only %d transfers in 60 s: not a saturation run", included)
	}
}
