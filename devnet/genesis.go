package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kaiachain/kaia/accounts/keystore"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

const (
	mainChainID    = 2018
	serviceChainID = 1002
	numDevKeys     = 20 // key 0: main-chain funder, key 1: service-chain funder, others spare (one per test package, so parallel test binaries never share a nonce)
	// operatorPassword protects the bridge operator keystores. Like every key
	// here it is public: the devnet is for local use only.
	operatorPassword = "klayslave-devnet-insecure"
)

// seedKey derives a deterministic, publicly known private key.
func seedKey(seed string) *ecdsa.PrivateKey {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte(seed)))
	if err != nil { // only if keccak256(seed) >= secp256k1 N, which these seeds are not
		panic(fmt.Sprintf("devnet: seed %q gives no valid key: %v", seed, err))
	}
	return key
}

// devKey returns dev key i: keccak256("klayslave-devnet-key-<i>").
func devKey(i int) *ecdsa.PrivateKey { return seedKey(fmt.Sprintf("klayslave-devnet-key-%d", i)) }

func parentOperatorKey() *ecdsa.PrivateKey { return seedKey("klayslave-devnet-parent-operator") }
func childOperatorKey() *ecdsa.PrivateKey  { return seedKey("klayslave-devnet-child-operator") }
func enNodeKey() *ecdsa.PrivateKey         { return seedKey("klayslave-devnet-en-nodekey") }

func keyHex(k *ecdsa.PrivateKey) string { return common.Bytes2Hex(crypto.FromECDSA(k)) }

func keyAddr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// kni is a node's Kaia network identifier on 127.0.0.1.
func kni(nodeKey *ecdsa.PrivateKey, port int, ntype string) string {
	pub := common.Bytes2Hex(crypto.FromECDSAPub(&nodeKey.PublicKey)[1:])
	url := fmt.Sprintf("kni://%s@127.0.0.1:%d?discport=0", pub, port)
	if ntype != "" {
		url += "&ntype=" + ntype
	}
	return url
}

// chainState is what `up` needs to restart the nodes of an existing data dir.
type chainState struct {
	PortOffset int    `json:"portOffset"`
	CNNodeKey  string `json:"cnNodeKey"`
	CNReward   string `json:"cnRewardbase"`
	SCNNodeKey string `json:"scnNodeKey"`
	SCNReward  string `json:"scnRewardbase"`
}

func loadState(l layout) (chainState, error) {
	var st chainState
	data, err := os.ReadFile(l.path("state.json"))
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(data, &st)
}

// generate creates genesis files with homi, initialises the three data
// dirs and writes the peering files and the bridge operator keystores.
func generate(ctx context.Context, l layout, out io.Writer) (chainState, error) {
	var st chainState
	for _, d := range []string{l.path("homi"), l.path("logs"), l.path("pids")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return st, err
		}
	}
	var funded []string
	for i := 0; i < numDevKeys; i++ {
		funded = append(funded, keyAddr(devKey(i)).Hex())
	}
	fundArg := strings.Join(funded, ",")
	fmt.Fprintf(out, "genesis: main chain %d, service chain %d, funding %d dev keys\n", mainChainID, serviceChainID, numDevKeys)
	err := parallel(
		func() error {
			return runLogged(ctx, "homi (main chain genesis)", l.path("homi"), l.path("logs", "homi.log"), l.bin("homi"), "setup", "--cn-num", "1", "--test-num", "0",
				"--chainID", fmt.Sprint(mainChainID), "--funding-addr", fundArg, "--output", "main", "local")
		},
		func() error {
			return runLogged(ctx, "homi (service chain genesis)", l.path("homi"), l.path("logs", "homi-sc.log"), l.bin("homi"), "setup", "--cn-num", "1", "--test-num", "0",
				"--servicechain", "--chainID", fmt.Sprint(serviceChainID), "--funding-addr", fundArg, "--output", "sc", "local")
		},
	)
	if err != nil {
		return st, err
	}
	st.PortOffset = l.offset
	if st.CNNodeKey, err = readTrim(l.path("homi", "main", "keys", "nodekey1")); err != nil {
		return st, err
	}
	if st.CNReward, err = readTrim(l.path("homi", "main", "keys", "reward1")); err != nil {
		return st, err
	}
	if st.SCNNodeKey, err = readTrim(l.path("homi", "sc", "keys", "nodekey1")); err != nil {
		return st, err
	}
	if st.SCNReward, err = readTrim(l.path("homi", "sc", "keys", "reward1")); err != nil {
		return st, err
	}
	cnKey, err := crypto.HexToECDSA(st.CNNodeKey)
	if err != nil {
		return st, fmt.Errorf("homi nodekey1: %w", err)
	}

	mainGenesis := l.path("homi", "main", "scripts", "genesis.json")
	scGenesis := l.path("homi", "sc", "scripts", "genesis.json")
	err = parallel(
		func() error {
			return runLogged(ctx, "kcn init", "", l.logFile("cn"), l.bin("kcn"), "--datadir", l.dataDir("cn"), "init", mainGenesis)
		},
		func() error {
			return runLogged(ctx, "ken init", "", l.logFile("en"), l.bin("ken"), "--datadir", l.dataDir("en"), "init", mainGenesis)
		},
		func() error {
			return runLogged(ctx, "kscn init", "", l.logFile("scn"), l.bin("kscn"), "--datadir", l.dataDir("scn"), "init", scGenesis)
		},
	)
	if err != nil {
		return st, err
	}

	// The EN peers with the CN; the SCN's sub-bridge dials the EN's main-bridge.
	if err := writeJSON(filepath.Join(l.dataDir("en"), "static-nodes.json"), []string{kni(cnKey, l.port(baseCNP2P), "cn")}); err != nil {
		return st, err
	}
	if err := writeJSON(filepath.Join(l.dataDir("scn"), "main-bridges.json"), []string{kni(enNodeKey(), l.port(baseMainBridge), "")}); err != nil {
		return st, err
	}
	// Operator keystores with light scrypt, so that kscn unlocks them fast.
	for dir, key := range map[string]*ecdsa.PrivateKey{
		"parent_bridge_account": parentOperatorKey(),
		"child_bridge_account":  childOperatorKey(),
	} {
		if err := writeOperatorKeystore(filepath.Join(l.dataDir("scn"), dir), key); err != nil {
			return st, err
		}
	}
	if err := writeJSON(l.path("state.json"), st); err != nil {
		return st, err
	}
	return st, nil
}

// writeOperatorKeystore writes the keystore and the password file that
// kscn reads from <datadir>/{parent,child}_bridge_account.
func writeOperatorKeystore(dir string, key *ecdsa.PrivateKey) error {
	ks := keystore.NewKeyStore(dir, keystore.LightScryptN, keystore.LightScryptP)
	acc, err := ks.ImportECDSA(key, operatorPassword)
	if err != nil {
		return fmt.Errorf("operator keystore %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(dir, acc.Address.String()), []byte(operatorPassword), 0o600)
}

// runLogged runs a short command, appending its output to logPath.
func runLogged(ctx context.Context, label, dir, logPath, bin string, args ...string) error {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "### %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed (%v); read %s", label, err, logPath)
	}
	return nil
}

// parallel runs fns concurrently and returns the first error.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func readTrim(path string) (string, error) {
	data, err := os.ReadFile(path)
	return strings.TrimSpace(string(data)), err
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
