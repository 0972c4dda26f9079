package klay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Names of the pre-flight checks (PreflightError.Check).
const (
	CheckKey       = "key"
	CheckReachable = "reachable"
	CheckModules   = "rpc-namespace"
	CheckChainID   = "chain-id"
	CheckBlocks    = "new-blocks"
	CheckBalance   = "balance"
)

// PreflightError is a failed pre-flight check. Its message is one line that
// names the URL or the address and says how to fix it; it never contains a
// key. The CLI maps it to exit code 2.
type PreflightError struct {
	Check  string // one of the Check* names
	Target string // URL, address or key source the check is about
	Msg    string
	Err    error // cause, if any
}

func (e *PreflightError) Error() string { return oneLine(e.Msg) }
func (e *PreflightError) Unwrap() error { return e.Err }

// IsPreflight reports whether err is or wraps a *PreflightError.
func IsPreflight(err error) bool {
	var pe *PreflightError
	return errors.As(err, &pe)
}

// PreflightConfig describes what one chain must offer before a test.
type PreflightConfig struct {
	Label string // "main chain" or "service chain", for messages
	// URLFlag names the flag that sets the URL ("-mcEndpoint"), for fixes.
	URLFlag string
	// Funder pays users × Charge plus the funding fees.
	Funder common.Address
	Users  int
	Charge *big.Int // peb per user
	// ExpectedChainID, when set, must match klay_chainID.
	ExpectedChainID *big.Int
	// Modules must all be served; default ["klay"].
	Modules []string
	// BlockPeriod is the expected block interval (default 1 s); no new block
	// within 3 periods fails the check.
	BlockPeriod time.Duration
}

// Preflight runs every check against c in order: reachable, namespaces,
// chain id, new blocks, balance. It stops at the first failure, which is a
// *PreflightError.
func Preflight(ctx context.Context, c *Client, cfg PreflightConfig) error {
	if err := CheckEndpoint(ctx, c, cfg.Label, cfg.URLFlag); err != nil {
		return err
	}
	mods := cfg.Modules
	if len(mods) == 0 {
		mods = []string{"klay"}
	}
	if err := CheckRPCModules(ctx, c, mods...); err != nil {
		return err
	}
	if cfg.ExpectedChainID != nil {
		if err := CheckChain(ctx, c, cfg.ExpectedChainID); err != nil {
			return err
		}
	}
	if err := CheckNewBlocks(ctx, c, cfg.BlockPeriod); err != nil {
		return err
	}
	if cfg.Users > 0 && cfg.Charge != nil {
		if err := CheckFunderBalance(ctx, c, cfg.Label, cfg.Funder, cfg.Users, cfg.Charge); err != nil {
			return err
		}
	}
	return nil
}

// CheckEndpoint fails when the node does not answer klay_chainID.
func CheckEndpoint(ctx context.Context, c *Client, label, urlFlag string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := c.ChainID(cctx)
	if err == nil {
		return nil
	}
	var rerr rpc.Error
	if errors.As(err, &rerr) {
		// It answered, just not klay_chainID: the namespace check says more.
		return nil
	}
	fix := "start the node with --rpc, or fix the URL"
	if urlFlag != "" {
		fix += " (" + urlFlag + ")"
	}
	return &PreflightError{Check: CheckReachable, Target: c.URL(), Err: err,
		Msg: fmt.Sprintf("%s endpoint %s is not reachable (%v); %s", orChain(label), c.URL(), shortErr(err), fix)}
}

// probeMethods answer on any node that serves the namespace; used when the
// node has no rpc_modules.
var probeMethods = map[string]string{
	"klay": "klay_blockNumber", "kaia": "kaia_blockNumber", "eth": "eth_blockNumber",
	"net": "net_version", "txpool": "txpool_status",
	"subbridge": "subbridge_nodeInfo", "mainbridge": "mainbridge_nodeInfo",
}

// CheckRPCModules fails when the endpoint does not serve one of the
// namespaces.
func CheckRPCModules(ctx context.Context, c *Client, modules ...string) error {
	served, err := c.RPCModules(ctx)
	for _, m := range modules {
		ok := false
		if err == nil {
			_, ok = served[m]
		}
		// rpc_modules may not list an alias: Kaia v1.0.3 lists only "kaia"
		// but answers klay_* too. A probe call settles it.
		if probe, known := probeMethods[m]; !ok && known {
			var raw interface{}
			perr := c.Call(ctx, &raw, probe)
			ok = perr == nil || !isMethodNotFound(perr)
		} else if err != nil {
			ok = true // cannot tell; the first call will
		}
		if !ok {
			have := "unknown"
			if err == nil {
				names := make([]string, 0, len(served))
				for n := range served {
					names = append(names, n)
				}
				sort.Strings(names)
				have = strings.Join(names, ",")
			}
			return &PreflightError{Check: CheckModules, Target: c.URL(),
				Msg: fmt.Sprintf("endpoint %s does not serve the %q RPC namespace (it serves: %s); the node's --rpcapi must include %s", c.URL(), m, have, m)}
		}
	}
	return nil
}

func isMethodNotFound(err error) bool {
	var rerr rpc.Error
	if errors.As(err, &rerr) && rerr.ErrorCode() == -32601 {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "does not exist") || strings.Contains(msg, "not available")
}

// CheckChain fails when the node's chain id is not want.
func CheckChain(ctx context.Context, c *Client, want *big.Int) error {
	got, err := c.ChainID(ctx)
	if err != nil {
		return &PreflightError{Check: CheckChainID, Target: c.URL(), Err: err,
			Msg: fmt.Sprintf("endpoint %s did not return its chain id (%v); the node's --rpcapi must include klay", c.URL(), shortErr(err))}
	}
	if got.Cmp(want) != 0 {
		return &PreflightError{Check: CheckChainID, Target: c.URL(),
			Msg: fmt.Sprintf("endpoint %s serves chain id %s, expected %s; point the endpoint flag at the right chain or fix the expected chain id", c.URL(), got, want)}
	}
	return nil
}

// CheckNewBlocks fails when no new block arrives within 3 block periods.
func CheckNewBlocks(ctx context.Context, c *Client, period time.Duration) error {
	if period <= 0 {
		period = time.Second
	}
	first, err := c.BlockNumber(ctx)
	if err != nil {
		return &PreflightError{Check: CheckBlocks, Target: c.URL(), Err: err,
			Msg: fmt.Sprintf("endpoint %s did not return its block number (%v); check the node", c.URL(), shortErr(err))}
	}
	deadline := time.Now().Add(3 * period)
	for time.Now().Before(deadline) {
		if err := sleep(ctx, min(period/4, time.Until(deadline))); err != nil {
			return err
		}
		n, err := c.BlockNumber(ctx)
		if err == nil && n > first {
			return nil
		}
	}
	return &PreflightError{Check: CheckBlocks, Target: c.URL(),
		Msg: fmt.Sprintf("endpoint %s produced no new block in %s (3 block periods; head stays at #%d); check that the chain's validators are running and peered", c.URL(), 3*period, first)}
}

// FundingCost is what funding users accounts with charge each costs:
// users × (charge + TransferGas × gasPrice).
func FundingCost(users int, charge, gasPrice *big.Int) *big.Int {
	per := new(big.Int).Mul(big.NewInt(TransferGas), gasPrice)
	per.Add(per, charge)
	return per.Mul(per, big.NewInt(int64(users)))
}

// CheckFunderBalance fails when funder holds less than users × charge plus
// the fees of the funding transfers at the current gas price.
func CheckFunderBalance(ctx context.Context, c *Client, label string, funder common.Address, users int, charge *big.Int) error {
	bal, err := c.BalanceAt(ctx, funder, nil)
	if err != nil {
		return &PreflightError{Check: CheckBalance, Target: funder.Hex(), Err: err,
			Msg: fmt.Sprintf("cannot read the balance of funder %s at %s (%v)", funder.Hex(), c.URL(), shortErr(err))}
	}
	gp, err := c.GasPrice(ctx)
	if err != nil {
		return &PreflightError{Check: CheckBalance, Target: c.URL(), Err: err,
			Msg: fmt.Sprintf("cannot read the gas price at %s (%v)", c.URL(), shortErr(err))}
	}
	need := FundingCost(users, charge, gp)
	if bal.Cmp(need) < 0 {
		return &PreflightError{Check: CheckBalance, Target: funder.Hex(),
			Msg: fmt.Sprintf("funder %s on the %s has %s KLAY but needs %s KLAY (%d users × %s KLAY + fees); send KLAY to %s or lower the number of users or the charge",
				funder.Hex(), orChain(label), FormatKLAY(bal), FormatKLAY(need), users, FormatKLAY(charge), funder.Hex())}
	}
	return nil
}

func orChain(label string) string {
	if label == "" {
		return "chain"
	}
	return label
}

// shortErr is err's text on one line, without Go's repetition of the URL
// in *url.Error ("Post \"http://…\": dial tcp …").
func shortErr(err error) string {
	s := oneLine(err.Error())
	if i := strings.LastIndex(s, "\": "); i >= 0 && strings.HasPrefix(s, "Post \"") {
		s = s[i+3:]
	}
	return s
}

// peb per KLAY.
var pebPerKLAY = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

// KLAYs returns n KLAY in peb.
func KLAYs(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), pebPerKLAY) }

// FormatKLAY renders peb as KLAY with up to 6 decimals, trailing zeros cut.
func FormatKLAY(peb *big.Int) string {
	if peb == nil {
		return "0"
	}
	r := new(big.Rat).SetFrac(peb, pebPerKLAY)
	s := r.FloatString(6)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "0" && peb.Sign() > 0 {
		return r.FloatString(18)
	}
	return s
}

// ParseKLAY parses a decimal KLAY amount ("0.5", "100") into peb.
func ParseKLAY(s string) (*big.Int, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || r.Sign() < 0 {
		return nil, fmt.Errorf("not a KLAY amount: %q", s)
	}
	r.Mul(r, new(big.Rat).SetInt(pebPerKLAY))
	if !r.IsInt() {
		return nil, fmt.Errorf("KLAY amount %q has more than 18 decimals", s)
	}
	return new(big.Int).Set(r.Num()), nil
}
