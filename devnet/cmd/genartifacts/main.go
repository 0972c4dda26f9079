// Command genartifacts writes the ABI and bytecode of Kaia's bridge and
// bridge-compatible token contracts (from github.com/kaiachain/kaia@v1.0.3)
// as JSON into the main module's contracts/ directory.
//
// The main module cannot import Kaia's generated bindings: they pull in the
// whole node and need -ldflags=-checklinkname=0 on Go 1.26. This module
// already links them, so it exports their artifacts once:
//
//	cd devnet && go run -ldflags=-checklinkname=0 ./cmd/genartifacts ../contracts
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kaiachain/kaia/contracts/contracts/service_chain/bridge"
	sctoken "github.com/kaiachain/kaia/contracts/contracts/testing/sc_erc20"
	scnft "github.com/kaiachain/kaia/contracts/contracts/testing/sc_erc721"
)

type artifact struct {
	Source string          `json:"source"`
	ABI    json.RawMessage `json:"abi"`
	Bin    string          `json:"bin"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genartifacts <output dir>")
		os.Exit(2)
	}
	const src = "github.com/kaiachain/kaia@v1.0.3/contracts/contracts/"
	arts := map[string]artifact{
		"Bridge":            {src + "service_chain/bridge/Bridge.sol", json.RawMessage(bridge.BridgeABI), bridge.BridgeBin},
		"ServiceChainToken": {src + "testing/sc_erc20/sc_token.sol", json.RawMessage(sctoken.ServiceChainTokenABI), sctoken.ServiceChainTokenBin},
		"ServiceChainNFT":   {src + "testing/sc_erc721/sc_nft.sol", json.RawMessage(scnft.ServiceChainNFTABI), scnft.ServiceChainNFTBin},
	}
	for name, a := range arts {
		data, err := json.MarshalIndent(a, "", "  ")
		if err != nil {
			fmt.Fprintln(os.Stderr, name+":", err)
			os.Exit(1)
		}
		path := filepath.Join(os.Args[1], name+".json")
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("wrote", path)
	}
}
