package e2e

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
)

// SIGTERM mid-run: the users stop, the final summary is printed and every
// test account's balance goes back to the funder.
func TestSIGTERMFlushesAndSweeps(t *testing.T) {
	d := devnettest.Load(t)
	key := d.DevKeys.Spare[5]
	runID := fmt.Sprintf("sig-%d", time.Now().UnixNano())
	p := startEnv(t, []string{"KLAYSLAVE_MC_KEY=" + key}, binary, "run", "-tc=mcValueTransferTc",
		"-numScUser", "0", "-users", "5", "-max-rps", "20", "-run-time", "10m", "-charge", "1",
		"-mcEndpoint", d.MainChain.RPC, "-run", runID, "-log-dir", t.TempDir())
	p.waitFor(t, `users: 5`, 60*time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	out := p.Output()
	reqs, fails := summaryRow(t, out, "mcValueTransferTc")
	if reqs == 0 || fails != 0 {
		t.Errorf("final summary: %d requests, %d failures", reqs, fails)
	}
	p.waitFor(t, `swept test accounts" chain="main chain" accounts=10 .*"left KLAY"=0 `, time.Second)

	c, err := klay.Dial(context.Background(), d.MainChain.RPC, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if left := sumBalances(t, c, recipients(t, key, runID, 10)); left.Sign() != 0 {
		t.Errorf("test accounts still hold %s peb after the sweep", left)
	}
}
