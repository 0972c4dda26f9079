package bridge

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// devnet is the part of the devnet's network.json these tests use.
type devnet struct {
	MainChain struct {
		RPC string `json:"rpc"`
	} `json:"mainChain"`
	ServiceChain struct {
		RPC          string `json:"rpc"`
		SubbridgeRPC string `json:"subbridgeRpc"`
	} `json:"serviceChain"`
	Bridge struct {
		Main    common.Address `json:"mainBridge"`
		Service common.Address `json:"serviceBridge"`
	} `json:"bridge"`
	DevKeys struct {
		Spare []string `json:"spare"`
	} `json:"devKeys"`
}

// testConfig returns a set-up config over the devnet named by
// $KLAYSLAVE_DEVNET, with spare dev keys as funders. It skips when the
// variable is unset and fails when the devnet does not answer.
func testConfig(t *testing.T) Config {
	t.Helper()
	path := os.Getenv("KLAYSLAVE_DEVNET")
	if path == "" {
		t.Skip("KLAYSLAVE_DEVNET (path to the devnet's network.json) is not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("KLAYSLAVE_DEVNET: %v", err)
	}
	var d devnet
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("KLAYSLAVE_DEVNET: %v", err)
	}
	if len(d.DevKeys.Spare) < 6 {
		t.Fatalf("network.json has %d spare keys, want 6", len(d.DevKeys.Spare))
	}
	ctx := context.Background()
	side := func(name, url, key string) Side {
		c, err := klay.Dial(ctx, url, 16)
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.ChainID(ctx)
		if err != nil {
			t.Fatalf("devnet %s chain at %s does not answer: %v", name, url, err)
		}
		k, err := klay.ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return Side{Name: name, Client: c, ChainID: id, Funder: klay.NewAccount(k, c)}
	}
	cfg := Config{
		MC: side("main", d.MainChain.RPC, d.DevKeys.Spare[4]),
		SC: side("service", d.ServiceChain.RPC, d.DevKeys.Spare[5]),
	}
	sbURL := d.ServiceChain.SubbridgeRPC
	if sbURL == "" {
		sbURL = d.ServiceChain.RPC
	}
	if cfg.Subbridge, err = klay.Dial(ctx, sbURL, 4); err != nil {
		t.Fatal(err)
	}
	cfg.Given = Pair{Parent: d.Bridge.Main, Child: d.Bridge.Service}
	return cfg
}

func bridgeCount(t *testing.T, cfg Config) int {
	t.Helper()
	list, err := Subbridge{cfg.Subbridge}.ListBridge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestSetupDeploysOnceE2E runs two set-ups concurrently and a third after
// them on a fresh state directory: exactly one pair is deployed, and all
// three return it.
func TestSetupDeploysOnceE2E(t *testing.T) {
	cfg := testConfig(t)
	cfg.Given = Pair{}
	cfg.StateDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := bridgeCount(t, cfg)

	var wg sync.WaitGroup
	states := make([]State, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			states[i], errs[i] = Setup(ctx, cfg, Want{})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	again, err := Setup(ctx, cfg, Want{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reuse took %s", time.Since(start))
	if states[0].Bridge != states[1].Bridge || again.Bridge != states[0].Bridge {
		t.Fatalf("set-ups disagree: %+v %+v %+v", states[0].Bridge, states[1].Bridge, again.Bridge)
	}
	if after := bridgeCount(t, cfg); after != before+1 {
		t.Fatalf("subbridge_listBridge grew from %d to %d, want exactly one new pair", before, after)
	}
	sb := Subbridge{cfg.Subbridge}
	j, err := sb.Find(ctx, again.Bridge)
	if err != nil || j == nil || !j.Subscribed {
		t.Fatalf("pair not subscribed: %+v %v", j, err)
	}
	for _, b := range []common.Address{again.Bridge.Parent, again.Bridge.Child} {
		if n, err := sb.Threshold(ctx, b); err != nil || n != 1 {
			t.Fatalf("threshold of %s = %d, %v", b.Hex(), n, err)
		}
	}
	bal, err := cfg.MC.Client.BalanceAt(ctx, again.Bridge.Parent, nil)
	if err != nil || bal.Cmp(klay.KLAYs(1000)) < 0 {
		t.Fatalf("parent bridge balance %v, %v", bal, err)
	}
}

// TestSetupGivenPairE2E uses the devnet's own pair as -mcBridge/-scBridge.
func TestSetupGivenPairE2E(t *testing.T) {
	cfg := testConfig(t)
	cfg.StateDir = t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	before := bridgeCount(t, cfg)
	st, err := Setup(ctx, cfg, Want{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Bridge != cfg.Given {
		t.Fatalf("got %+v, want the given pair %+v", st.Bridge, cfg.Given)
	}
	if after := bridgeCount(t, cfg); after != before {
		t.Fatalf("a given pair must not deploy: %d -> %d", before, after)
	}
	// A given address without a contract is refused.
	cfg.Given.Parent = common.HexToAddress("0x000000000000000000000000000000000000dEaD")
	if _, err := Setup(ctx, cfg, Want{}); err == nil {
		t.Fatal("a given bridge without code was accepted")
	}
}
