package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/crypto"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
)

// ownPortOffset keeps the fault tests' devnet clear of the shared one
// (offset 0) and of devnet's own tests (offset 100).
const ownPortOffset = 200

// ownNet is a devnet that only this test process uses: the fault tests
// kill its EN, which must never happen to the shared devnet that other
// packages' tests load at the same time.
type ownNet struct {
	dir       string
	devnetBin string
	enRPC     string // the EN, where klayslave sends
	scRPC     string
	cnRPC     string // the block producer, which stays up: blocks are read here
	funderKey string // the main chain's funder (well-known dev key)

	mu     sync.Mutex
	enPID  int
	enArgs []string // the EN's command line, to start it again after a kill
	enDown bool     // killed by killEN and not started since
}

// The devnet is started once per test process, by the first test that
// needs it, and stopped by TestMain (stopOwnNet) after every test ran.
var own struct {
	once sync.Once
	net  *ownNet
	err  error
}

// ownDevnet returns this process's own devnet, starting it on first use.
// Without the node binaries it skips, unless KLAYSLAVE_REQUIRE_DEVNET is
// set: then it fails, so that a run meant to cover faults cannot pass by
// skipping.
func ownDevnet(t *testing.T) *ownNet {
	t.Helper()
	own.once.Do(func() { own.net, own.err = startOwnNet() })
	if own.err != nil {
		if os.Getenv(devnettest.EnvRequire) != "" {
			t.Fatalf("own devnet: %v", own.err)
		}
		t.Skipf("own devnet: %v (set %s=1 to make this a failure)", own.err, devnettest.EnvRequire)
	}
	n := own.net
	// A test before this one may have killed and restarted the EN.
	n.waitSynced(t, 90*time.Second)
	return n
}

func startOwnNet() (*ownNet, error) {
	dir, err := os.MkdirTemp("", "klayslave-faultnet")
	if err != nil {
		return nil, err
	}
	n := &ownNet{dir: filepath.Join(dir, "net"), devnetBin: filepath.Join(dir, "devnet")}
	build := exec.Command("go", "build", "-ldflags=-checklinkname=0", "-o", n.devnetBin, ".")
	build.Dir = "../devnet"
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building devnet: %v: %s", err, oneLine(string(out)))
	}
	// After a load run many sockets sit in TIME-WAIT, and devnet's port
	// check can fail for a while: try again, for a bounded time, only on
	// that error.
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := exec.Command(n.devnetBin, "up", "--dir", n.dir, "--port-offset", strconv.Itoa(ownPortOffset)).CombinedOutput()
		if err == nil {
			break
		}
		if !strings.Contains(string(out), "already in use") || time.Now().After(deadline) {
			_ = exec.Command(n.devnetBin, "down", "--dir", n.dir).Run()
			return nil, fmt.Errorf("devnet up --dir %s --port-offset %d: %v: %s", n.dir, ownPortOffset, err, lastLine(string(out)))
		}
		time.Sleep(2 * time.Second)
	}
	var info struct {
		MainChain    struct{ RPC, CNRPC string } `json:"mainChain"`
		ServiceChain struct{ RPC string }        `json:"serviceChain"`
		DevKeys      struct{ MCFunder string }   `json:"devKeys"`
		PIDs         map[string]int              `json:"pids"`
	}
	data, err := os.ReadFile(filepath.Join(n.dir, "network.json"))
	if err == nil {
		err = json.Unmarshal(data, &info)
	}
	if err != nil {
		return n, fmt.Errorf("network.json of %s: %v", n.dir, err)
	}
	n.enRPC, n.cnRPC, n.scRPC = info.MainChain.RPC, info.MainChain.CNRPC, info.ServiceChain.RPC
	n.funderKey, n.enPID = info.DevKeys.MCFunder, info.PIDs["en"]
	if n.enRPC == "" || n.cnRPC == "" || n.funderKey == "" || n.enPID == 0 {
		return n, fmt.Errorf("network.json of %s lacks the EN, the CN, the funder key or the EN's pid", n.dir)
	}
	return n, nil
}

// stopOwnNet stops the own devnet, if one was started; TestMain calls it.
func stopOwnNet() {
	if own.net == nil {
		return
	}
	out, err := exec.Command(own.net.devnetBin, "down", "--dir", own.net.dir).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "devnet down --dir %s: %v: %s\n", own.net.dir, err, oneLine(string(out)))
		return
	}
	os.RemoveAll(filepath.Dir(own.net.dir))
}

// killEN kills the EN with SIGKILL, as a crash would, and remembers its
// command line for startEN.
func (n *ownNet) killEN(t *testing.T) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.enPID))
	if err != nil || !strings.Contains(string(cmdline), "\x00"+filepath.Join(n.dir, "en")+"\x00") {
		t.Fatalf("pid %d is not this devnet's EN (%v)", n.enPID, err)
	}
	n.enArgs = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if err := syscall.Kill(n.enPID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the EN (pid %d): %v", n.enPID, err)
	}
	n.enDown = true
	// A test that fails before it starts the EN again must not leave the
	// tests after it a devnet without one.
	t.Cleanup(func() {
		n.mu.Lock()
		down := n.enDown
		n.mu.Unlock()
		if down {
			n.startEN(t)
		}
	})
	// Its RPC port closes with the process.
	deadline := time.Now().Add(10 * time.Second)
	for blockNumber(n.enRPC) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the EN still answers 10 s after SIGKILL")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startEN starts the EN again with the command line it had, its output
// appended to its log and its pid in its pid file, as `devnet up` starts
// it (so `devnet down` stops it). `devnet up` itself is not used: on a
// partly running net it stops every node and starts all three again
// (kscn alone takes 10 s to stop), which is not the fault under test.
func (n *ownNet) startEN(t *testing.T) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	log, err := os.OpenFile(filepath.Join(n.dir, "logs", "en.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(n.enArgs[0], n.enArgs[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("starting the EN again: %v", err)
	}
	go func() { _ = cmd.Wait(); log.Close() }() // reaped when devnet down stops it
	n.enPID, n.enDown = cmd.Process.Pid, false
	if err := os.WriteFile(filepath.Join(n.dir, "pids", "en.pid"), []byte(strconv.Itoa(n.enPID)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitAnswer waits for the EN's RPC to answer and returns when it did.
func (n *ownNet) waitAnswer(t *testing.T, limit time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for blockNumber(n.enRPC) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the EN at %s did not answer within %v", n.enRPC, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Now()
}

// waitSynced waits until the EN's head is within one block of the CN's,
// and returns when it was. Before that a restarted EN answers RPC but
// serves a stale chain, and its pool holds new transactions as future
// ones (their nonces are ahead of its state) without passing them on.
//
// A restarted EN dials the CN once; when that dial fails (the CN has not
// yet dropped the killed EN's connection), Kaia's p2p tries again only
// after 30 s. As `devnet up` does, the CN is asked to connect to an EN
// without peers after a few seconds: Kaia's redial delay is not what the
// fault tests measure.
func (n *ownNet) waitSynced(t *testing.T, limit time.Duration) time.Time {
	t.Helper()
	start := time.Now()
	deadline := start.Add(limit)
	nudged := false
	for {
		en, cn := blockNumberOf(n.enRPC), blockNumberOf(n.cnRPC)
		if en > 0 && cn > 0 && en+1 >= cn {
			return time.Now()
		}
		if !nudged && en > 0 && time.Since(start) > 4*time.Second {
			nudged = true
			if rpcCall(n.enRPC, "admin_peers") == "[]" {
				if url, err := n.enURL(); err == nil {
					t.Logf("the EN has no peer %.1f s after it answered; asking the CN to connect to it: %s",
						time.Since(start).Seconds(), rpcCall(n.cnRPC, "admin_addPeer", url))
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the EN (block %d) did not catch up with the CN (block %d) within %v; read %s", en, cn, limit, filepath.Join(n.dir, "logs", "en.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// enURL returns the EN's kni:// URL, from its node key and p2p port.
func (n *ownNet) enURL() (string, error) {
	var keyHex, port string
	for i := 0; i+1 < len(n.enArgs); i++ {
		switch n.enArgs[i] {
		case "--nodekeyhex":
			keyHex = n.enArgs[i+1]
		case "--port":
			port = n.enArgs[i+1]
		}
	}
	key, err := crypto.HexToECDSA(keyHex)
	if err != nil || port == "" {
		return "", fmt.Errorf("the EN's node key or port is not on its command line %q", n.enArgs)
	}
	pub := common.Bytes2Hex(crypto.FromECDSAPub(&key.PublicKey)[1:])
	return fmt.Sprintf("kni://%s@127.0.0.1:%s?discport=0&ntype=en", pub, port), nil
}

// rpcCall returns the raw result of method(params) at url, or the error's
// text.
func rpcCall(url, method string, params ...any) string {
	var raw json.RawMessage
	if err := onNode(url, 2*time.Second, func(ctx context.Context, c *klay.Client) error {
		return c.Call(ctx, &raw, method, params...)
	}); err != nil {
		return err.Error()
	}
	return string(raw)
}

// onNode dials url and makes call, both within limit.
func onNode(url string, limit time.Duration, call func(context.Context, *klay.Client) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	c, err := klay.Dial(ctx, url, 1)
	if err != nil {
		return err
	}
	defer c.Close()
	return call(ctx, c)
}

func blockNumber(url string) error {
	_, err := head(url)
	return err
}

// blockNumberOf returns url's head, or 0 when it does not answer.
func blockNumberOf(url string) uint64 {
	bn, _ := head(url)
	return bn
}

// head returns url's head block number, asked within a second.
func head(url string) (uint64, error) {
	var bn uint64
	err := onNode(url, time.Second, func(ctx context.Context, c *klay.Client) (err error) {
		bn, err = c.BlockNumber(ctx)
		return err
	})
	if err != nil {
		return 0, err
	}
	return bn, nil
}

// cnClient dials the CN, which the fault tests never kill.
func (n *ownNet) cnClient(t *testing.T) *klay.Client {
	t.Helper()
	c, err := klay.Dial(context.Background(), n.cnRPC, 8)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// chainBlock is what the tests read of a block: its time and transfers.
type chainBlock struct {
	Number uint64
	Time   time.Time // timestamp + timestampFoS (10 ms units)
	Txs    []chainTx
}

type chainTx struct {
	From, To common.Address
	Value    *big.Int
}

// readBlocks reads blocks first..last with their transactions.
func readBlocks(t *testing.T, c *klay.Client, first, last uint64) []chainBlock {
	t.Helper()
	var out []chainBlock
	for n := first; n <= last; n++ {
		var b struct {
			Timestamp    hexutil.Uint64 `json:"timestamp"`
			TimestampFoS hexutil.Uint64 `json:"timestampFoS"`
			Transactions []struct {
				From  common.Address  `json:"from"`
				To    *common.Address `json:"to"`
				Value *hexutil.Big    `json:"value"`
			} `json:"transactions"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := c.Call(ctx, &b, "klay_getBlockByNumber", hexutil.Uint64(n), true)
		cancel()
		if err != nil {
			t.Fatalf("block %d: %v", n, err)
		}
		cb := chainBlock{Number: n, Time: time.Unix(int64(b.Timestamp), int64(b.TimestampFoS)*int64(10*time.Millisecond))}
		for _, tx := range b.Transactions {
			ct := chainTx{From: tx.From, Value: new(big.Int)}
			if tx.To != nil {
				ct.To = *tx.To
			}
			if tx.Value != nil {
				ct.Value = tx.Value.ToInt()
			}
			cb.Txs = append(cb.Txs, ct)
		}
		out = append(out, cb)
	}
	return out
}

// runTransfers counts a block's transfers sent by the test accounts in
// from, apart from the lanes' gap fillers (a zero-value transfer to
// oneself) and the sweep (to the funder), which are no iterations.
func runTransfers(b chainBlock, from map[common.Address]bool, funder common.Address) (transfers, fills int) {
	for _, tx := range b.Txs {
		switch {
		case !from[tx.From] || tx.To == funder:
		case tx.To == tx.From && tx.Value.Sign() == 0:
			fills++
		default:
			transfers++
		}
	}
	return transfers, fills
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
