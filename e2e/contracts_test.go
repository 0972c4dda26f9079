package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/klayslave/klayslave/internal/devnettest"
)

// catalogueSpare is this test's dev key (see devnettest.MinSpare).
const catalogueSpare = 9

// A contract given with -contracts at an address without code: one line
// naming the contract, the address and how to deploy it, exit code 2.
func TestGivenContractWithoutCode(t *testing.T) {
	d := devnettest.Load(t)
	const nowhere = "0x5e11e7000000000000000000000000000000beef"
	logDir := t.TempDir()
	p := startEnv(t, []string{"KLAYSLAVE_MC_KEY=" + d.DevKeys.Spare[catalogueSpare], "KLAYSLAVE_SC_KEY=" + d.DevKeys.Spare[catalogueSpare]},
		binary, "run", "-tc=erc20TransferTC", "-numMcUser", "1", "-numScUser", "0", "-charge", "0.1",
		"-mcEndpoint", d.MainChain.RPC, "-scEndpoint", d.ServiceChain.RPC, "-log-dir", logDir,
		"-contracts", "KlayslaveERC20="+nowhere)
	if code := p.wait(t, 90*time.Second); code != 2 {
		t.Fatalf("exit code %d, want 2; output:\n%s", code, p.Output())
	}
	lines := strings.Split(strings.TrimSpace(p.Output()), "\n")
	last := lines[len(lines)-1]
	for _, w := range []string{"erc20TransferTC: -contracts gives KlayslaveERC20=" + nowhere, "no code there", "leave it out of -contracts and set-up deploys one"} {
		if !strings.Contains(strings.ToLower(last), strings.ToLower(w)) {
			t.Errorf("last line %q lacks %q", last, w)
		}
	}
	assertNoKey(t, d.DevKeys.Spare[catalogueSpare], p.Output(), logDir)
}
