package e2e

import (
	"context"
	"fmt"
	"math/big"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/tc"
)

// summaryRow finds "<name>  <reqs>  <fails> |" in the final summary.
func summaryRow(t *testing.T, out, name string) (reqs, fails int64) {
	t.Helper()
	i := strings.Index(out, "Final summary:")
	if i < 0 {
		t.Fatalf("no final summary in:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s+(\d+)\s+(\d+) \|`).FindStringSubmatch(out[i:])
	if m == nil {
		t.Fatalf("no %q row in the final summary:\n%s", name, out[i:])
	}
	return atoi(t, m[1]), atoi(t, m[2])
}

// recipients returns the test accounts of a run on one chain, derived again
// from the funder's key as `klayslave sweep` does.
func recipients(t *testing.T, hexKey, runID string, n int) []common.Address {
	t.Helper()
	key, err := klay.ParseKey(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := klay.DeriveKeys(key, runID, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []common.Address
	for _, k := range keys {
		out = append(out, klay.KeyAddress(k))
	}
	return out
}

func sumBalances(t *testing.T, c *klay.Client, addrs []common.Address) *big.Int {
	t.Helper()
	bals, err := c.BalancesAt(context.Background(), addrs)
	if err != nil {
		t.Fatal(err)
	}
	sum := new(big.Int)
	for _, b := range bals {
		sum.Add(sum, b)
	}
	return sum
}

// waitSum polls until the sum of the balances equals want, or fails.
func waitSum(t *testing.T, c *klay.Client, addrs []common.Address, want *big.Int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var got *big.Int
	for time.Now().Before(deadline) {
		if got = sumBalances(t, c, addrs); got.Cmp(want) == 0 {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("recipients hold %s peb, want %s peb (difference %s)", got, want, new(big.Int).Sub(want, got))
}

// The seed's test case through the bridge, standalone, at 20 rps for 30 s,
// in one direction so that the recipients only receive: the sum of their
// balances must grow by exactly count × value, where count is every request
// the tool counted. Then `klayslave sweep -run` returns the funds.
func TestBridgeValueTransferStandalone(t *testing.T) {
	d := devnettest.Load(t)
	for _, dir := range []struct {
		flag, row string
		secs      string
	}{{"main-to-service", "main→service", "30s"}, {"service-to-main", "service→main", "10s"}} {
		t.Run(dir.flag, func(t *testing.T) {
			mcKey, scKey := d.DevKeys.Spare[1], d.DevKeys.Spare[2]
			runID := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
			logDir := t.TempDir()
			keys := []string{"KLAYSLAVE_MC_KEY=" + mcKey, "KLAYSLAVE_SC_KEY=" + scKey}
			common := []string{"-mcEndpoint", d.MainChain.RPC, "-scEndpoint", d.ServiceChain.RPC, "-log-dir", logDir, "-run", runID}
			p := startEnv(t, keys, binary, append([]string{"run", "-tc=scValueTransferTc,scValueTransferWithCheckTc",
				"-bridge-direction", dir.flag, "-users", "10", "-max-rps", "20", "-run-time", dir.secs,
				"-charge", "1", "-no-sweep", "-report-interval", "10s"}, common...)...)
			if code := p.wait(t, 5*time.Minute); code != 0 {
				t.Fatalf("exit code %d:\n%s", code, p.Output())
			}
			out := p.Output()
			plain, f1 := summaryRow(t, out, "scValueTransferTc "+dir.row)
			checked, f2 := summaryRow(t, out, "scValueTransferWithCheckTc "+dir.row)
			handled, f3 := summaryRow(t, out, "scValueTransferWithCheckTc "+dir.row+" e2e")
			t.Logf("%s: %d + %d requests accepted, %d handled within the run", dir.row, plain, checked, handled)
			if f1+f2+f3 != 0 {
				t.Errorf("failures on a healthy devnet: %d, %d, %d", f1, f2, f3)
			}
			if handled == 0 || handled > checked {
				t.Errorf("%d transfers handled of %d checked", handled, checked)
			}

			dstKey, dstURL := scKey, d.ServiceChain.RPC
			if dir.flag == "service-to-main" {
				dstKey, dstURL = mcKey, d.MainChain.RPC
			}
			c, err := klay.Dial(context.Background(), dstURL, 4)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			to := recipients(t, dstKey, runID, 10)
			oneKLAY := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
			want := new(big.Int).Mul(oneKLAY, big.NewInt(10)) // -charge 1 × 10 accounts
			want.Add(want, new(big.Int).Mul(big.NewInt(tc.TransferValuePeb), big.NewInt(plain+checked)))
			waitSum(t, c, to, want, 90*time.Second)

			sw := startEnv(t, keys, binary, append([]string{"sweep"}, common...)...)
			if code := sw.wait(t, 3*time.Minute); code != 0 {
				t.Fatalf("sweep exit code %d:\n%s", code, sw.Output())
			}
			if left := sumBalances(t, c, to); left.Sign() != 0 {
				t.Errorf("after sweep the recipients still hold %s peb", left)
			}
			matches, _ := filepath.Glob(filepath.Join(logDir, "state", "*"+runID+"*"))
			if len(matches) != 0 {
				t.Errorf("state files left after a complete sweep: %v", matches)
			}
			assertNoKey(t, mcKey, out+sw.Output(), logDir)
			assertNoKey(t, scKey, out+sw.Output(), logDir)
		})
	}
}

// The seed's command line, verbatim apart from keys and endpoints, joins a
// real Locust master; the master's CSV shows the scValueTransferTc entries
// with exactly the counts the worker sent.
func TestSeedCommandLineThroughMaster(t *testing.T) {
	requireLocust(t)
	d := devnettest.Load(t)
	dir := t.TempDir()
	port := freePort(t)
	csv := filepath.Join(dir, "seed")
	master := startMaster(t, dir, port, csv, "-u", "10", "-r", "10", "-t", "20s", "--expect-workers", "1")
	w := start(t, binary, "-max-rps", "10", "-mcKey="+d.DevKeys.Spare[3], "-scKey="+d.DevKeys.Spare[4], "-tc=scValueTransferTc",
		"-mcEndpoint", d.MainChain.RPC, "-scEndpoint", d.ServiceChain.RPC, "-master-port", strconv.Itoa(port), "-log-dir", dir)
	master.wait(t, 3*time.Minute)
	if code := w.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("worker exit code %d", code)
	}
	reqs, fails := sent(t, w)
	agg := csvRow(t, csv+"_stats.csv", "Name", "Aggregated")
	if got := atoi(t, agg["Request Count"]); got != reqs || reqs < 100 {
		t.Errorf("master counted %d requests, the worker sent %d (want ≈ 10 rps × 20 s)", got, reqs)
	}
	if fails != 0 || agg["Failure Count"] != "0" {
		t.Errorf("failures: worker %d, master %s", fails, agg["Failure Count"])
	}
	var rows int64
	for _, name := range []string{"scValueTransferTc main→service", "scValueTransferTc service→main"} {
		rows += atoi(t, csvRow(t, csv+"_stats.csv", "Name", name)["Request Count"])
	}
	if rows != reqs {
		t.Errorf("the two direction rows hold %d requests, the worker sent %d", rows, reqs)
	}
	w.waitFor(t, `swept test accounts" chain="main chain"`, time.Second)
}
