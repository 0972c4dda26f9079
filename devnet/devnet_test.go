package main

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

// TestDevnetUpBridgeDown starts a second devnet (port offset +100) in a temp
// dir, moves KLAY from the service chain to the main chain through the
// bridge, and stops it again.
func TestDevnetUpBridgeDown(t *testing.T) {
	binDir := defaultBinDir()
	if missing := missingBinaries(binDir); len(missing) > 0 {
		msg := fmt.Sprintf("kaia binaries %v missing in %s: build them with 'cd devnet && go run . build' (or set KLAYSLAVE_KAIA_BIN)", missing, binDir)
		if os.Getenv("KLAYSLAVE_REQUIRE_DEVNET") != "" {
			t.Fatal(msg + "; KLAYSLAVE_REQUIRE_DEVNET is set")
		}
		t.Skip(msg + "; set KLAYSLAVE_REQUIRE_DEVNET=1 to make this a failure")
	}
	if testing.Short() {
		t.Skip("starts a real Kaia network; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	dir := t.TempDir()
	args := []string{"--dir", dir, "--bin", binDir, "--port-offset", "100"}
	t.Cleanup(func() { // whatever happens, stop what up started (before TempDir removal)
		var out bytes.Buffer
		run(context.Background(), append([]string{"down"}, args...), &out, &out)
	})

	var out bytes.Buffer
	start := time.Now()
	code := run(ctx, append([]string{"up", "--fresh"}, args...), &out, &out)
	elapsed := time.Since(start)
	if code != exitOK {
		t.Fatalf("up --fresh exited %d:\n%s", code, out.String())
	}
	t.Logf("devnet up --fresh (binaries built) took %.1fs\n%s", elapsed.Seconds(), out.String())
	if elapsed > 60*time.Second {
		t.Errorf("up took %s, want <= 60s", elapsed)
	}

	l := layout{dir: dir, binDir: binDir, offset: 100}
	info, err := loadNetworkInfo(l)
	if err != nil {
		t.Fatal(err)
	}
	if info.MainChain.RPC != "http://127.0.0.1:8661" || info.ServiceChain.RPC != "http://127.0.0.1:7651" {
		t.Errorf("endpoints %s / %s do not carry the port offset", info.MainChain.RPC, info.ServiceChain.RPC)
	}

	// Second up on a healthy net only prints the info.
	out.Reset()
	if code := run(ctx, append([]string{"up"}, args...), &out, &out); code != exitOK || !strings.Contains(out.String(), "already running") {
		t.Errorf("second up: exit %d, output:\n%s", code, out.String())
	}

	// status without --port-offset asks the ports the devnet was created with.
	out.Reset()
	if code := run(ctx, []string{"status", "--dir", dir, "--bin", binDir}, &out, &out); code != exitOK || !strings.Contains(out.String(), "http://127.0.0.1:8651 block ") {
		t.Errorf("status without --port-offset: exit %d, output:\n%s", code, out.String())
	}

	transferServiceToMain(ctx, t, info)

	// A pair a test deployed is deregistered by down --prune-bridges; the
	// devnet's own survives a restart, and the sub-bridge answers for it.
	sc, err := dial(ctx, info.ServiceChain.RPC)
	if err != nil {
		t.Fatal(err)
	}
	var extra []common.Address
	if err := callTimeout(ctx, 130*time.Second, sc, &extra, "subbridge_deployBridge"); err != nil || len(extra) != 2 {
		t.Fatalf("subbridge_deployBridge: %v %v", extra, err)
	}
	sc.Close() // deploying registers the pair with the sub-bridge
	out.Reset()
	if code := run(ctx, append([]string{"down", "--prune-bridges"}, args...), &out, &out); code != exitOK || !strings.Contains(out.String(), "deregistered 1 bridge pairs") {
		t.Fatalf("down --prune-bridges: exit %d, output:\n%s", code, out.String())
	}
	out.Reset()
	if code := run(ctx, append([]string{"up"}, args...), &out, &out); code != exitOK {
		t.Fatalf("up after down --prune-bridges: exit %d, output:\n%s", code, out.String())
	}
	if info, err = loadNetworkInfo(l); err != nil {
		t.Fatal(err)
	}
	if sc, err = dial(ctx, info.ServiceChain.RPC); err != nil {
		t.Fatal(err)
	}
	var list []bridgeJournal
	err = call(ctx, sc, &list, "subbridge_listBridge")
	sc.Close()
	if err != nil || len(list) != 1 || !strings.EqualFold(list[0].ChildAddress.Hex(), info.Bridge.ServiceBridge) {
		t.Fatalf("after the restart the sub-bridge lists %+v (%v), want only the devnet's pair", list, err)
	}

	out.Reset()
	if code := run(ctx, append([]string{"down"}, args...), &out, &out); code != exitOK {
		t.Fatalf("down exited %d:\n%s", code, out.String())
	}
	for node, pid := range info.PIDs {
		if !processGone(pid) {
			t.Errorf("%s (pid %d) still running after down", node, pid)
		}
	}
	if len(info.PIDs) != 3 {
		t.Errorf("network.json records pids %v, want cn, en and scn", info.PIDs)
	}
}

// transferServiceToMain calls requestKLAYTransfer on the service-chain
// bridge and waits for the recipient's main-chain balance to rise by value.
func transferServiceToMain(ctx context.Context, t *testing.T, info networkInfo) {
	t.Helper()
	mc, err := dial(ctx, info.MainChain.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	sc, err := dial(ctx, info.ServiceChain.RPC)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()

	key, err := crypto.HexToECDSA(info.DevKeys.SCFunder)
	if err != nil {
		t.Fatal(err)
	}
	to := keyAddr(seedKey(fmt.Sprintf("klayslave-devnet-test-recipient-%d", time.Now().UnixNano())))
	bridge := common.HexToAddress(info.Bridge.ServiceBridge)
	value := kaia(1)
	fee, err := feeOfKLAY(ctx, sc, bridge)
	if err != nil {
		t.Fatal(err)
	}
	before, err := balanceOf(ctx, mc, to)
	if err != nil {
		t.Fatal(err)
	}
	data, err := packBridge("requestKLAYTransfer", to, value, []byte{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := sendAndWait(ctx, sc, key, bridge, new(big.Int).Add(value, fee), data); err != nil {
		t.Fatalf("requestKLAYTransfer: %v", err)
	}
	want := new(big.Int).Add(before, value)
	for {
		got, err := balanceOf(ctx, mc, to)
		if err == nil && got.Cmp(want) == 0 {
			t.Logf("service -> main: %s moved %s peb on the main chain %.1fs after submit", to.Hex(), value, time.Since(start).Seconds())
			return
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("recipient %s main-chain balance %v, want %v, 30s after requestKLAYTransfer (err %v)", to.Hex(), got, want, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestUpPortInUse checks the one-line error for a busy port. Fake
// binaries are enough: ports are checked before anything runs.
func TestUpPortInUse(t *testing.T) {
	// Occupy the first port up checks (cn p2p) for some offset.
	var ln net.Listener
	offset, busy := -1, 0
	for off := 9000; off <= 10000 && ln == nil; off += 97 {
		if l, err := net.Listen("tcp", fmt.Sprintf(":%d", baseCNP2P+off)); err == nil {
			ln, offset, busy = l, off, baseCNP2P+off
		}
	}
	if ln == nil {
		t.Skip("found no free port to occupy")
	}
	defer ln.Close()
	binDir := t.TempDir()
	for _, name := range binaryNames() {
		if err := os.WriteFile(filepath.Join(binDir, name), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"up", "--dir", dir, "--bin", binDir, "--port-offset", fmt.Sprint(offset)}, &stdout, &stderr)
	msg := stderr.String()
	if code != exitFailure {
		t.Fatalf("exit code %d, want %d; stderr %q", code, exitFailure, msg)
	}
	if strings.Count(msg, "\n") != 1 {
		t.Errorf("want a one-line message, got %q", msg)
	}
	for _, want := range []string{fmt.Sprintf("port %d", busy), "already in use", filepath.Join(dir, "logs")} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err == nil {
		t.Errorf("up generated a network although a port was busy")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"launch"},
		{"up", "extra"},
		{"--port-offset", "-1", "up"},
		{"up", "--no-such-flag"},
	} {
		var out bytes.Buffer
		if code := run(context.Background(), args, &out, &out); code != exitUsage {
			t.Errorf("devnet %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestNetworkInfoEnv(t *testing.T) {
	l := layout{dir: "/tmp/x", offset: 100}
	b := bridgeInfo{MainBridge: common.HexToAddress("0x01"), ServiceBridge: common.HexToAddress("0x02")}
	env := newNetworkInfo(l, b, map[string]int{"cn": 1}).envFile()
	for _, want := range []string{
		"KLAYSLAVE_MC_ENDPOINT=http://127.0.0.1:8661\n",
		"KLAYSLAVE_SC_ENDPOINT=http://127.0.0.1:7651\n",
		"KLAYSLAVE_MC_CHAIN_ID=2018\n",
		"KLAYSLAVE_SC_CHAIN_ID=1002\n",
		"KLAYSLAVE_MC_KEY=" + keyHex(devKey(0)) + "\n",
		"KLAYSLAVE_SC_KEY=" + keyHex(devKey(1)) + "\n",
		"KLAYSLAVE_MC_BRIDGE=" + b.MainBridge.Hex() + "\n",
		"KLAYSLAVE_SC_BRIDGE=" + b.ServiceBridge.Hex() + "\n",
		"KLAYSLAVE_SUBBRIDGE_ENDPOINT=http://127.0.0.1:7651\n",
		"# INSECURE",
	} {
		if !strings.Contains(env, want) {
			t.Errorf("env file lacks %q:\n%s", want, env)
		}
	}
	if keyHex(devKey(0)) == keyHex(devKey(1)) || keyHex(devKey(0)) != keyHex(seedKey("klayslave-devnet-key-0")) {
		t.Error("dev keys are not deterministic and distinct")
	}
}
