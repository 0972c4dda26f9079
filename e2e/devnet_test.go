package e2e

import (
	"encoding/json"
	"os"
	"testing"
)

// devnet is the part of network.json (written by `devnet up`) the tests use.
type devnet struct {
	MainChain struct {
		RPC     string `json:"rpc"`
		ChainID uint64 `json:"chainId"`
	} `json:"mainChain"`
	ServiceChain struct {
		RPC          string `json:"rpc"`
		ChainID      uint64 `json:"chainId"`
		SubbridgeRPC string `json:"subbridgeRpc"`
	} `json:"serviceChain"`
	Bridge struct {
		MainBridge    string `json:"mainBridge"`
		ServiceBridge string `json:"serviceBridge"`
	} `json:"bridge"`
	DevKeys struct {
		MCFunder string   `json:"mcFunder"`
		SCFunder string   `json:"scFunder"`
		Spare    []string `json:"spare"`
	} `json:"devKeys"`
}

// requireDevnet reads $KLAYSLAVE_DEVNET (set by `make test`) or skips.
func requireDevnet(t *testing.T) *devnet {
	t.Helper()
	path := os.Getenv("KLAYSLAVE_DEVNET")
	if path == "" {
		if os.Getenv("KLAYSLAVE_REQUIRE_DEVNET") != "" {
			t.Fatal("KLAYSLAVE_DEVNET is not set; run the tests with 'make test'")
		}
		t.Skip("no devnet: run 'make test', or set KLAYSLAVE_DEVNET to a network.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("KLAYSLAVE_DEVNET: %v", err)
	}
	var d devnet
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("KLAYSLAVE_DEVNET %s: %v", path, err)
	}
	return &d
}
