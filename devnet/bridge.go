package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/networks/rpc"
)

// bridgeABI is the part of Kaia's Bridge contract
// (contracts/contracts/service_chain/bridge) that the devnet calls.
// Sending plain KLAY to a bridge would hit its fallback, which requests a
// transfer; chargeWithoutEvent only raises the bridge's balance.
const bridgeABI = `[
 {"type":"function","name":"chargeWithoutEvent","stateMutability":"payable","payable":true,"inputs":[],"outputs":[]},
 {"type":"function","name":"requestKLAYTransfer","stateMutability":"payable","payable":true,
  "inputs":[{"name":"_to","type":"address"},{"name":"_value","type":"uint256"},{"name":"_extraData","type":"bytes"}],"outputs":[]}
]`

// Funding of the bridge set-up, in KAIA. The dev keys hold 1e32 KAIA each.
const (
	operatorFundKAIA = 1_000_000     // gas for handle txs: ~246k gas at up to 750 gkei is ~0.18 KAIA each
	bridgeChargeKAIA = 1_000_000_000 // pays out transfers coming from the other chain
)

// bridgeInfo is one deployed, subscribed bridge pair.
type bridgeInfo struct {
	MainBridge     common.Address // parent bridge, on the main chain
	ServiceBridge  common.Address // child bridge, on the service chain
	ParentOperator common.Address
	ChildOperator  common.Address
}

// bridgeJournal is an entry of subbridge_listBridge.
type bridgeJournal struct {
	ChildAddress  common.Address `json:"childAddress"`
	ParentAddress common.Address `json:"parentAddress"`
	Subscribed    bool           `json:"subscribed"`
}

func packBridge(method string, args ...any) ([]byte, error) {
	parsed, err := abi.JSON(strings.NewReader(bridgeABI))
	if err != nil {
		return nil, err
	}
	return parsed.Pack(method, args...)
}

// setupBridge funds the operators, deploys and subscribes a bridge pair,
// sets the value-transfer threshold to 1 and charges both bridges.
// mc is the main chain's EN; sc is the SCN (service chain + sub-bridge).
func setupBridge(ctx context.Context, mc, sc *rpc.Client, step stepFunc) (bridgeInfo, error) {
	var b bridgeInfo
	if err := call(ctx, sc, &b.ParentOperator, "subbridge_getParentOperatorAddr"); err != nil {
		return b, fmt.Errorf("subbridge_getParentOperatorAddr: %w", err)
	}
	if err := call(ctx, sc, &b.ChildOperator, "subbridge_getChildOperatorAddr"); err != nil {
		return b, fmt.Errorf("subbridge_getChildOperatorAddr: %w", err)
	}

	err := parallel(
		func() error {
			_, err := sendAndWait(ctx, mc, devKey(0), b.ParentOperator, kaia(operatorFundKAIA), nil)
			return wrap(err, "fund parent operator on the main chain")
		},
		func() error {
			_, err := sendAndWait(ctx, sc, devKey(1), b.ChildOperator, kaia(operatorFundKAIA), nil)
			return wrap(err, "fund child operator on the service chain")
		},
	)
	if err != nil {
		return b, err
	}
	step("funded operators %s (main chain) and %s (service chain) with %d KAIA each", b.ParentOperator.Hex(), b.ChildOperator.Hex(), operatorFundKAIA)

	var pair []common.Address
	if err := callTimeout(ctx, 130*time.Second, sc, &pair, "subbridge_deployBridge"); err != nil {
		return b, fmt.Errorf("subbridge_deployBridge: %w", err)
	}
	if len(pair) != 2 {
		return b, fmt.Errorf("subbridge_deployBridge returned %d addresses, want 2", len(pair))
	}
	b.ServiceBridge, b.MainBridge = pair[0], pair[1]
	step("deployed bridges: service chain %s, main chain %s", b.ServiceBridge.Hex(), b.MainBridge.Hex())

	if err := call(ctx, sc, nil, "subbridge_subscribeBridge", b.ServiceBridge.Hex(), b.MainBridge.Hex()); err != nil {
		return b, fmt.Errorf("subbridge_subscribeBridge: %w", err)
	}

	err = parallel(
		func() error { return setThreshold(ctx, sc, sc, b.ServiceBridge) },
		func() error { return setThreshold(ctx, sc, mc, b.MainBridge) },
	)
	if err != nil {
		return b, err
	}
	step("subscribed; value-transfer operator threshold is 1 on both bridges")

	charge, err := packBridge("chargeWithoutEvent")
	if err != nil {
		return b, err
	}
	err = parallel(
		func() error {
			_, err := sendAndWait(ctx, mc, devKey(0), b.MainBridge, kaia(bridgeChargeKAIA), charge)
			return wrap(err, "charge main-chain bridge")
		},
		func() error {
			_, err := sendAndWait(ctx, sc, devKey(1), b.ServiceBridge, kaia(bridgeChargeKAIA), charge)
			return wrap(err, "charge service-chain bridge")
		},
	)
	if err != nil {
		return b, err
	}
	for _, x := range []struct {
		c    *rpc.Client
		addr common.Address
	}{{mc, b.MainBridge}, {sc, b.ServiceBridge}} {
		bal, err := balanceOf(ctx, x.c, x.addr)
		if err != nil || bal.Cmp(kaia(bridgeChargeKAIA)) < 0 {
			return b, fmt.Errorf("bridge %s balance %v after charging %d KAIA (err %v)", x.addr.Hex(), bal, bridgeChargeKAIA, err)
		}
	}
	step("charged both bridges with %d KAIA", bridgeChargeKAIA)

	if err := checkBridgeListed(ctx, sc, b); err != nil {
		return b, err
	}
	step("subbridge_listBridge shows the subscribed pair")
	return b, nil
}

// setThreshold sets the value-transfer operator threshold of bridge to 1
// (the tx goes to the chain of client chain) and confirms it with the getter.
func setThreshold(ctx context.Context, sb, chain *rpc.Client, bridge common.Address) error {
	var hash common.Hash
	if err := call(ctx, sb, &hash, "subbridge_setValueTransferOperatorThreshold", bridge, 1); err != nil {
		return fmt.Errorf("subbridge_setValueTransferOperatorThreshold(%s): %w", bridge.Hex(), err)
	}
	if _, err := waitReceipt(ctx, chain, hash, 30*time.Second); err != nil {
		return fmt.Errorf("threshold of bridge %s: %w", bridge.Hex(), err)
	}
	var got uint8
	if err := call(ctx, sb, &got, "subbridge_getValueTransferOperatorThreshold", bridge); err != nil {
		return fmt.Errorf("subbridge_getValueTransferOperatorThreshold(%s): %w", bridge.Hex(), err)
	}
	if got != 1 {
		return fmt.Errorf("bridge %s value-transfer operator threshold is %d, want 1", bridge.Hex(), got)
	}
	return nil
}

// bridgeRestoreTimeout bounds the wait for a restarted sub-bridge to
// answer for its bridges.
const bridgeRestoreTimeout = 60 * time.Second

// waitBridgesRestored waits until the sub-bridge answers a call that takes
// its bridge manager's lock. At start Kaia v1.0.3 restores every bridge pair
// it knows while holding that lock, with calls to the parent chain that
// have no timeout; with dozens of pairs a block event can wedge it for
// good, and every bridge call (klayslave's set-up among them) then hangs.
func waitBridgesRestored(ctx context.Context, sc *rpc.Client, b bridgeInfo) error {
	deadline := time.Now().Add(bridgeRestoreTimeout)
	for {
		var threshold uint8
		err := callTimeout(ctx, 5*time.Second, sc, &threshold, "subbridge_getValueTransferOperatorThreshold", b.MainBridge)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the sub-bridge has not answered for its bridges in %s (Kaia v1.0.3 can deadlock restoring many bridge pairs at start; 'devnet down --prune-bridges' keeps only the devnet's own): run 'devnet up --fresh'", bridgeRestoreTimeout)
		}
		time.Sleep(time.Second)
	}
}

// pruneBridges deregisters from the running sub-bridge every bridge pair
// but the devnet's own (network.json), and returns how many it removed.
func pruneBridges(ctx context.Context, l layout) (int, error) {
	n, err := loadNetworkInfo(l)
	if err != nil {
		return 0, err
	}
	own := n.bridge()
	sc, err := dial(ctx, l.rpcURL("scn"))
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	var list []bridgeJournal
	if err := call(ctx, sc, &list, "subbridge_listBridge"); err != nil {
		return 0, fmt.Errorf("subbridge_listBridge: %w", err)
	}
	removed := 0
	for _, j := range list {
		if j.ChildAddress == own.ServiceBridge && j.ParentAddress == own.MainBridge {
			continue
		}
		if err := call(ctx, sc, nil, "subbridge_deregisterBridge", j.ChildAddress.Hex(), j.ParentAddress.Hex()); err != nil {
			return removed, fmt.Errorf("subbridge_deregisterBridge(%s, %s): %w", j.ChildAddress.Hex(), j.ParentAddress.Hex(), err)
		}
		removed++
	}
	return removed, nil
}

// checkBridgeListed verifies with subbridge_listBridge that the pair is
// known and subscribed; it re-subscribes a known but unsubscribed pair.
func checkBridgeListed(ctx context.Context, sc *rpc.Client, b bridgeInfo) error {
	var list []bridgeJournal
	if err := call(ctx, sc, &list, "subbridge_listBridge"); err != nil {
		return fmt.Errorf("subbridge_listBridge: %w", err)
	}
	for _, j := range list {
		if j.ChildAddress != b.ServiceBridge || j.ParentAddress != b.MainBridge {
			continue
		}
		if j.Subscribed {
			return nil
		}
		if err := call(ctx, sc, nil, "subbridge_subscribeBridge", b.ServiceBridge.Hex(), b.MainBridge.Hex()); err != nil {
			return fmt.Errorf("subbridge_subscribeBridge: %w", err)
		}
		return nil
	}
	return fmt.Errorf("bridge pair %s/%s is not in subbridge_listBridge; run 'devnet up --fresh'", b.ServiceBridge.Hex(), b.MainBridge.Hex())
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// stepFunc prints one progress line.
type stepFunc func(format string, args ...any)

// stepPrinter prints progress lines with the time since it was created.
func stepPrinter(out io.Writer) stepFunc {
	start := time.Now()
	return func(format string, args ...any) {
		fmt.Fprintf(out, "  [%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
}

// feeOfKLAY reads the KLAY transfer fee of a bridge via the sub-bridge.
func feeOfKLAY(ctx context.Context, sc *rpc.Client, bridge common.Address) (*big.Int, error) {
	var fee big.Int
	if err := call(ctx, sc, &fee, "subbridge_getKLAYFee", bridge); err != nil {
		return nil, fmt.Errorf("subbridge_getKLAYFee: %w", err)
	}
	return &fee, nil
}
