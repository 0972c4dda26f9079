package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/kaiachain/kaia/common"
)

const insecureWarning = "INSECURE: well-known local devnet keys, never use elsewhere"

// networkInfo is <dir>/network.json. Other klayslave code reads it: keep
// the JSON names stable.
type networkInfo struct {
	MainChain    mainChainInfo    `json:"mainChain"`
	ServiceChain serviceChainInfo `json:"serviceChain"`
	Bridge       bridgeJSON       `json:"bridge"`
	DevKeys      devKeysInfo      `json:"devKeys"`
	LogDir       string           `json:"logDir"`
	PIDs         map[string]int   `json:"pids"`
}

type mainChainInfo struct {
	RPC     string `json:"rpc"`   // the EN
	WS      string `json:"ws"`    // the EN
	CNRPC   string `json:"cnRpc"` // the block-producing CN
	ChainID int    `json:"chainId"`
}

type serviceChainInfo struct {
	RPC          string `json:"rpc"`
	WS           string `json:"ws"`
	ChainID      int    `json:"chainId"`
	SubbridgeRPC string `json:"subbridgeRpc"`
}

type bridgeJSON struct {
	MainBridge     string `json:"mainBridge"`
	ServiceBridge  string `json:"serviceBridge"`
	ParentOperator string `json:"parentOperator"`
	ChildOperator  string `json:"childOperator"`
}

type devKeysInfo struct {
	Warning  string   `json:"warning"`
	MCFunder string   `json:"mcFunder"`
	SCFunder string   `json:"scFunder"`
	Spare    []string `json:"spare"`
}

func newNetworkInfo(l layout, b bridgeInfo, pids map[string]int) networkInfo {
	info := networkInfo{
		MainChain: mainChainInfo{RPC: l.httpURL(baseENRPC), WS: l.wsURL(baseENWS), CNRPC: l.httpURL(baseCNRPC), ChainID: mainChainID},
		ServiceChain: serviceChainInfo{RPC: l.httpURL(baseSCNRPC), WS: l.wsURL(baseSCNWS), ChainID: serviceChainID,
			SubbridgeRPC: l.httpURL(baseSCNRPC)},
		Bridge: bridgeJSON{MainBridge: b.MainBridge.Hex(), ServiceBridge: b.ServiceBridge.Hex(),
			ParentOperator: b.ParentOperator.Hex(), ChildOperator: b.ChildOperator.Hex()},
		DevKeys: devKeysInfo{Warning: insecureWarning, MCFunder: keyHex(devKey(0)), SCFunder: keyHex(devKey(1))},
		LogDir:  l.path("logs"),
		PIDs:    pids,
	}
	for i := 2; i < numDevKeys; i++ {
		info.DevKeys.Spare = append(info.DevKeys.Spare, keyHex(devKey(i)))
	}
	return info
}

func (n networkInfo) bridge() bridgeInfo {
	return bridgeInfo{
		MainBridge:     common.HexToAddress(n.Bridge.MainBridge),
		ServiceBridge:  common.HexToAddress(n.Bridge.ServiceBridge),
		ParentOperator: common.HexToAddress(n.Bridge.ParentOperator),
		ChildOperator:  common.HexToAddress(n.Bridge.ChildOperator),
	}
}

// envFile renders network.env.
func (n networkInfo) envFile() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# klayslave devnet, written by 'devnet up' (logs: %s)\n", n.LogDir)
	sb.WriteString("# INSECURE: KLAYSLAVE_MC_KEY and KLAYSLAVE_SC_KEY are well-known local devnet keys; never use them elsewhere.\n")
	for _, kv := range [][2]string{
		{"KLAYSLAVE_MC_ENDPOINT", n.MainChain.RPC},
		{"KLAYSLAVE_SC_ENDPOINT", n.ServiceChain.RPC},
		{"KLAYSLAVE_MC_CHAIN_ID", fmt.Sprint(n.MainChain.ChainID)},
		{"KLAYSLAVE_SC_CHAIN_ID", fmt.Sprint(n.ServiceChain.ChainID)},
		{"KLAYSLAVE_MC_KEY", n.DevKeys.MCFunder},
		{"KLAYSLAVE_SC_KEY", n.DevKeys.SCFunder},
		{"KLAYSLAVE_MC_BRIDGE", n.Bridge.MainBridge},
		{"KLAYSLAVE_SC_BRIDGE", n.Bridge.ServiceBridge},
		{"KLAYSLAVE_SUBBRIDGE_ENDPOINT", n.ServiceChain.SubbridgeRPC},
	} {
		fmt.Fprintf(&sb, "%s=%s\n", kv[0], kv[1])
	}
	return sb.String()
}

func writeNetworkInfo(l layout, n networkInfo) error {
	if err := writeJSON(l.path("network.json"), n); err != nil {
		return err
	}
	return os.WriteFile(l.path("network.env"), []byte(n.envFile()), 0o644)
}

func loadNetworkInfo(l layout) (networkInfo, error) {
	var n networkInfo
	data, err := os.ReadFile(l.path("network.json"))
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(data, &n); err != nil {
		return n, fmt.Errorf("%s: %w", l.path("network.json"), err)
	}
	return n, nil
}
