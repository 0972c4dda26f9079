// Package contracts carries the ABI and bytecode of the contracts klayslave
// deploys and calls.
//
// Kaia's bridge and its bridge-compatible ERC-20 and ERC-721 (Bridge,
// ServiceChainToken, ServiceChainNFT) are taken from
// github.com/kaiachain/kaia@v1.0.3. Their JSON files are build artifacts
// written by devnet/cmd/genartifacts, because Kaia's generated bindings need
// a linker flag that the main module must not need. Regenerate with:
//
//	cd devnet && go run -ldflags=-checklinkname=0 ./cmd/genartifacts ../contracts
//
// klayslave's own load contracts (the catalogue's tokens and execution-heavy
// cases) have their Solidity sources in src/ and are compiled by the solc
// pinned in solc/package-lock.json. Regenerate with `make contracts`
// (scripts/contracts.sh); TestArtifactsMatchSources checks the JSON files
// are what the sources compile to.
package contracts

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
)

//go:embed *.json
var files embed.FS

// Contract is a parsed ABI with the creation bytecode.
type Contract struct {
	Name string
	ABI  abi.ABI
	Bin  []byte
}

// Names of the shipped contracts.
const (
	Bridge            = "Bridge"
	ServiceChainToken = "ServiceChainToken"
	ServiceChainNFT   = "ServiceChainNFT"

	// Compiled from src/ (see the package comment).
	ERC20         = "KlayslaveERC20"
	ERC721        = "KlayslaveERC721"
	CPUHeavy      = "CPUHeavy"
	KVStore       = "KVStore"
	InternalTx    = "InternalTx"
	LargeCalldata = "LargeCalldata"
)

// Own lists the contracts compiled from src/.
func Own() []string {
	return []string{ERC20, ERC721, CPUHeavy, KVStore, InternalTx, LargeCalldata}
}

// Load parses one shipped contract by name.
func Load(name string) (*Contract, error) {
	data, err := files.ReadFile(name + ".json")
	if err != nil {
		return nil, fmt.Errorf("no contract artifact %q", name)
	}
	var art struct {
		ABI json.RawMessage `json:"abi"`
		Bin string          `json:"bin"`
	}
	if err := json.Unmarshal(data, &art); err != nil {
		return nil, fmt.Errorf("contract artifact %s: %w", name, err)
	}
	parsed, err := abi.JSON(strings.NewReader(string(art.ABI)))
	if err != nil {
		return nil, fmt.Errorf("contract artifact %s: %w", name, err)
	}
	return &Contract{Name: name, ABI: parsed, Bin: common.FromHex(art.Bin)}, nil
}

// DeployData returns the creation bytecode followed by the encoded
// constructor arguments.
func (c *Contract) DeployData(args ...any) ([]byte, error) {
	enc, err := c.ABI.Pack("", args...)
	if err != nil {
		return nil, fmt.Errorf("%s constructor: %w", c.Name, err)
	}
	return append(append([]byte{}, c.Bin...), enc...), nil
}
