package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klayslave/klayslave/internal/devnettest"
)

// sourceNetworkEnv sets what the devnet's network.env sets, as
// 'set -a; . network.env; set +a' does, with the funder keys replaced by
// spare 15 (the funders' nonces belong to other tests).
func sourceNetworkEnv(t *testing.T, d *devnettest.Net) {
	t.Helper()
	f, err := os.Open(filepath.Join(filepath.Dir(d.Path), "network.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if strings.HasSuffix(k, "_KEY") {
			v = d.DevKeys.Spare[15]
		}
		t.Setenv(k, v)
		n++
	}
	if n < 9 {
		t.Fatalf("network.env set %d variables, want 9 or more", n)
	}
}

// With network.env sourced and no flag at all, klayslave aims at the
// devnet: `check` passes on both chains, a wrong chain id from the
// environment fails it naming the variable, and a short run's transfers
// reach the devnet's blocks.
func TestNetworkEnvAloneAimsAtTheDevnet(t *testing.T) {
	d := devnettest.Load(t)
	sourceNetworkEnv(t, d)
	t.Setenv("KLAYSLAVE_LOG_DIR", t.TempDir())
	t.Setenv("KLAYSLAVE_CHARGE", "1")

	code, out, errs := runArgs("check")
	if code != 0 || !strings.Contains(out, d.MainChain.RPC+" ok") || !strings.Contains(out, d.ServiceChain.RPC+" ok") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errs)
	}

	t.Setenv("KLAYSLAVE_TC", "mcValueTransferTc")
	t.Setenv("KLAYSLAVE_NUM_MC_USER", "2")
	t.Setenv("KLAYSLAVE_NUM_SC_USER", "0")
	t.Setenv("KLAYSLAVE_USERS", "2")
	t.Setenv("KLAYSLAVE_MAX_RPS", "5")
	t.Setenv("KLAYSLAVE_RUN_TIME", "3s")
	code, out, errs = runArgs("run")
	reqs, fails := summaryCounts(t, out, "mcValueTransferTc")
	if code != 0 || reqs < 5 || fails != 0 {
		t.Fatalf("run: exit %d, %v iterations, %v failed\n%s%s", code, reqs, fails, out, errs)
	}

	t.Setenv("KLAYSLAVE_MC_CHAIN_ID", "9999")
	code, _, errs = runArgs("check")
	if code != 2 || !strings.Contains(errs, "expected 9999") {
		t.Fatalf("check with a wrong chain id: exit %d, %q", code, errs)
	}
}
