// Package devnettest gives tests the local Kaia devnet described by
// $KLAYSLAVE_DEVNET (the network.json that `devnet up` writes). It is
// imported only by _test files; it must not import klay, whose own tests
// use it.
//
// A missing devnet (variable unset, file absent, nodes not answering) skips
// the test, or fails it when $KLAYSLAVE_REQUIRE_DEVNET is set, as `make
// test` does, so that a run meant to cover the chain cannot pass by
// skipping. A file that is there but wrong (malformed, too few keys, a node
// answering with another chain id) always fails.
package devnettest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
)

// Environment variables read by Load.
const (
	EnvDevnet  = "KLAYSLAVE_DEVNET"
	EnvRequire = "KLAYSLAVE_REQUIRE_DEVNET"
)

// MinSpare is how many spare dev keys Load insists on: the tests of
// different packages take different spares (bridge and tc use 4 and 5,
// e2e 0 to 5, the catalogue's and the reports' packages 6 and up) so that
// parallel test binaries never share a nonce.
const MinSpare = 18

// probeTimeout bounds each node's answer to klay_chainId.
const probeTimeout = 5 * time.Second

// Chain is one chain of the devnet. Fields a chain does not have (CNRPC on
// the service chain, SubbridgeRPC on the main chain) are empty.
type Chain struct {
	RPC     string   `json:"rpc"`
	WS      string   `json:"ws"`
	CNRPC   string   `json:"cnRpc"` // main chain: the block-producing CN
	ChainID *big.Int `json:"chainId"`
	// SubbridgeRPC serves subbridge_*; Load sets it to RPC when the file
	// names none.
	SubbridgeRPC string `json:"subbridgeRpc"`
}

// Bridge is the bridge pair `devnet up` deployed and subscribed.
type Bridge struct {
	MainBridge    common.Address `json:"mainBridge"`
	ServiceBridge common.Address `json:"serviceBridge"`
}

// Keys are the devnet's well-known, funded dev keys, in hex. They are
// public test keys, but still never print them.
type Keys struct {
	MCFunder string   `json:"mcFunder"`
	SCFunder string   `json:"scFunder"`
	Spare    []string `json:"spare"`
}

// Net is the devnet as network.json describes it, with both chains'
// ids confirmed by their nodes.
type Net struct {
	Path         string `json:"-"`
	MainChain    Chain  `json:"mainChain"`
	ServiceChain Chain  `json:"serviceChain"`
	Bridge       Bridge `json:"bridge"`
	DevKeys      Keys   `json:"devKeys"`
}

// Load returns the devnet named by $KLAYSLAVE_DEVNET after checking that
// both chains answer with the chain ids the file records. See the package
// comment for when it skips and when it fails.
func Load(t testing.TB) *Net {
	t.Helper()
	n, missing, err := load(context.Background(), os.Getenv(EnvDevnet))
	switch {
	case missing && os.Getenv(EnvRequire) != "":
		t.Fatalf("no devnet, and %s is set: %v", EnvRequire, err)
	case missing:
		t.Skipf("no devnet (%v); set %s=1 to make this a failure", err, EnvRequire)
	case err != nil:
		t.Fatalf("devnet: %v", err)
	}
	return n
}

// load reads and checks the devnet at path. missing says the error means
// there is no devnet rather than a broken one.
func load(ctx context.Context, path string) (n *Net, missing bool, err error) {
	if path == "" {
		return nil, true, fmt.Errorf("%s is unset: point it at a devnet's network.json (/tmp/klayslave-devnet/network.json after 'make test' or 'cd devnet && go run . up')", EnvDevnet)
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, true, fmt.Errorf("%s=%s does not exist", EnvDevnet, path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", EnvDevnet, err)
	}
	if n, err = parse(data); err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	n.Path = path
	for _, c := range []struct {
		name string
		ch   Chain
	}{{"main", n.MainChain}, {"service", n.ServiceChain}} {
		id, err := probe(ctx, c.ch.RPC)
		if err != nil {
			var rpcErr *answerError
			return nil, !errors.As(err, &rpcErr), fmt.Errorf("%s chain of %s at %s: %w", c.name, path, c.ch.RPC, err)
		}
		if id.Cmp(c.ch.ChainID) != 0 {
			return nil, false, fmt.Errorf("%s chain at %s has chain id %s, %s says %s", c.name, c.ch.RPC, id, path, c.ch.ChainID)
		}
	}
	return n, false, nil
}

// parse decodes network.json and checks what the tests rely on.
func parse(data []byte) (*Net, error) {
	var n Net
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		ch   *Chain
	}{{"mainChain", &n.MainChain}, {"serviceChain", &n.ServiceChain}} {
		if !strings.HasPrefix(c.ch.RPC, "http://") && !strings.HasPrefix(c.ch.RPC, "https://") {
			return nil, fmt.Errorf("%s.rpc %q is not an http(s) URL", c.name, c.ch.RPC)
		}
		if c.ch.ChainID == nil || c.ch.ChainID.Sign() <= 0 {
			return nil, fmt.Errorf("%s.chainId is missing", c.name)
		}
		if c.ch.SubbridgeRPC == "" {
			c.ch.SubbridgeRPC = c.ch.RPC
		}
	}
	if n.DevKeys.MCFunder == "" || n.DevKeys.SCFunder == "" {
		return nil, errors.New("devKeys.mcFunder or devKeys.scFunder is missing")
	}
	if len(n.DevKeys.Spare) < MinSpare {
		return nil, fmt.Errorf("devKeys.spare has %d keys, want %d", len(n.DevKeys.Spare), MinSpare)
	}
	return &n, nil
}

// answerError is a node that answered, but not with a chain id: something
// else listens there, which is not a missing devnet.
type answerError struct{ msg string }

func (e *answerError) Error() string { return e.msg }

// probe asks the node at url for klay_chainId over plain HTTP (package klay
// cannot be used here: its tests import this package).
func probe(ctx context.Context, url string) (*big.Int, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"klay_chainId","params":[]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &answerError{err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &answerError{fmt.Sprintf("HTTP %d", resp.StatusCode)}
	}
	return decodeChainID(data)
}

// decodeChainID reads a JSON-RPC answer to klay_chainId.
func decodeChainID(data []byte) (*big.Int, error) {
	var r struct {
		Result *hexutil.Big `json:"result"`
		Error  *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, &answerError{"klay_chainId: not a JSON-RPC answer"}
	}
	if r.Error != nil {
		return nil, &answerError{"klay_chainId: " + strings.Join(strings.Fields(r.Error.Message), " ")}
	}
	if r.Result == nil {
		return nil, &answerError{"klay_chainId: no result"}
	}
	return r.Result.ToInt(), nil
}
