package bridge

import (
	"context"
	"fmt"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

// BridgeTokens is how many ERC-20 base units each bridge holds at least
// to pay out transfers from the other side (the bridges are not in
// mint/burn mode, so they pay from their balance): 10^8 tokens of 10^18.
var BridgeTokens = new(big.Int).Mul(big.NewInt(1e8), big.NewInt(1e18))

// ensureERC20 reuses the recorded ServiceChainToken pair or deploys and
// registers a new one, then makes sure each bridge can pay out: a bridge in
// mint/burn mode (subbridge_deployBridge deploys the child bridge so) mints
// and needs the minter role; the other pays from its balance.
func (cfg *Config) ensureERC20(ctx context.Context, st *State) error {
	t, err := cfg.ensureTokenPair(ctx, st.Bridge, st.ERC20, contracts.ServiceChainToken)
	if err != nil {
		return err
	}
	st.ERC20 = t
	for _, x := range cfg.sides(st.Bridge, t) {
		mb, err := MintBurn(ctx, x.side.Client, x.bridge)
		if err != nil {
			return err
		}
		if mb {
			err = x.side.ensureMinter(ctx, tokenABI, x.token, x.bridge)
		} else {
			err = TopUpTokens(ctx, x.side, x.token, []common.Address{x.bridge}, BridgeTokens)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sideToken is one chain's side of a bridge and token pair.
type sideToken struct {
	side          Side
	bridge, token common.Address
}

func (cfg *Config) sides(p Pair, t TokenPair) [2]sideToken {
	return [2]sideToken{{cfg.MC, p.Parent, t.Parent}, {cfg.SC, p.Child, t.Child}}
}

// MintBurn reports whether the bridge is in mint/burn mode: it mints
// tokens when it handles a transfer and burns them when it is requested
// one, instead of paying from and keeping its balance.
func MintBurn(ctx context.Context, c *klay.Client, bridge common.Address) (bool, error) {
	a, err := loadABI(bridgeABI)
	if err != nil {
		return false, err
	}
	out, err := klay.View(ctx, c, a, bridge, "modeMintBurn")
	if err != nil {
		return false, err
	}
	b, ok := out[0].(bool)
	if !ok {
		return false, fmt.Errorf("modeMintBurn on %s: output is %T", bridge.Hex(), out[0])
	}
	return b, nil
}

// ensureMinter gives the bridge the minter role of token (ERC-20 or
// ERC-721, both OpenZeppelin MinterRole), from the funder who deployed it.
func (s Side) ensureMinter(ctx context.Context, abiName string, token, bridge common.Address) error {
	a, err := loadABI(abiName)
	if err != nil {
		return err
	}
	out, err := klay.View(ctx, s.Client, a, token, "isMinter", bridge)
	if err != nil {
		return err
	}
	if ok, _ := out[0].(bool); ok {
		return nil
	}
	data, err := a.Pack("addMinter", bridge)
	if err != nil {
		return err
	}
	if _, err := s.Transact(ctx, &token, nil, data); err != nil {
		return fmt.Errorf("addMinter(%s) on the %s chain: %w", bridge.Hex(), s.Name, err)
	}
	return nil
}

// ensureTokenPair verifies a recorded token pair (code on both chains and
// registered with both bridges) or deploys the named contract on both
// chains, with that chain's bridge as constructor argument, and registers
// the pair through subbridge_registerToken.
func (cfg *Config) ensureTokenPair(ctx context.Context, p Pair, t TokenPair, name string) (TokenPair, error) {
	if !t.IsZero() {
		ok, err := cfg.tokenPairReady(ctx, p, t)
		if err != nil {
			return t, err
		}
		if ok {
			return t, nil
		}
	}
	if t.IsZero() || !cfg.hasCode(ctx, t) {
		c, err := contracts.Load(name)
		if err != nil {
			return t, err
		}
		for _, x := range []struct {
			side   Side
			bridge common.Address
			out    *common.Address
		}{{cfg.MC, p.Parent, &t.Parent}, {cfg.SC, p.Child, &t.Child}} {
			code, err := c.DeployData(x.bridge)
			if err != nil {
				return t, err
			}
			if *x.out, err = x.side.Deploy(ctx, code); err != nil {
				return t, fmt.Errorf("deploy %s on the %s chain: %w", name, x.side.Name, err)
			}
		}
		cfg.Log.Info("deployed token pair", "contract", name, "parent", t.Parent.Hex(), "child", t.Child.Hex())
	}
	if err := (Subbridge{cfg.Subbridge}).RegisterToken(ctx, p, t); err != nil {
		return t, fmt.Errorf("subbridge_registerToken: %w", err)
	}
	// The operators send the registerToken transactions; wait for both.
	err := klay.Poll(ctx, klay.ReceiptTimeout, func() (bool, error) { return cfg.tokenPairReady(ctx, p, t) })
	if err != nil {
		return t, fmt.Errorf("token pair %s/%s not registered with the bridges: %w", t.Parent.Hex(), t.Child.Hex(), err)
	}
	return t, nil
}

func (cfg *Config) hasCode(ctx context.Context, t TokenPair) bool {
	a, _ := klay.HasCode(ctx, cfg.MC.Client, t.Parent)
	b, _ := klay.HasCode(ctx, cfg.SC.Client, t.Child)
	return a && b
}

// tokenPairReady reports whether both bridges map the pair's tokens to
// each other (registeredTokens).
func (cfg *Config) tokenPairReady(ctx context.Context, p Pair, t TokenPair) (bool, error) {
	if !cfg.hasCode(ctx, t) {
		return false, nil
	}
	a, err := loadABI(bridgeABI)
	if err != nil {
		return false, err
	}
	pc, err := klay.ViewAddress(ctx, cfg.MC.Client, a, p.Parent, "registeredTokens", t.Parent)
	if err != nil {
		return false, err
	}
	cc, err := klay.ViewAddress(ctx, cfg.SC.Client, a, p.Child, "registeredTokens", t.Child)
	if err != nil {
		return false, err
	}
	return pc == t.Child && cc == t.Parent, nil
}

// TopUpTokens makes every holder own at least amount of the ERC-20 token,
// transferring the difference from the side's funder (which got the
// initial supply when it deployed the token). Transfers go out at once and
// are then awaited.
func TopUpTokens(ctx context.Context, s Side, token common.Address, holders []common.Address, amount *big.Int) error {
	a, err := loadABI(tokenABI)
	if err != nil {
		return err
	}
	var calls [][]byte
	for _, h := range holders {
		bal, err := klay.ViewBig(ctx, s.Client, a, token, "balanceOf", h)
		if err != nil {
			return err
		}
		if bal.Cmp(amount) >= 0 {
			continue
		}
		data, err := a.Pack("transfer", h, new(big.Int).Sub(amount, bal))
		if err != nil {
			return err
		}
		calls = append(calls, data)
	}
	if err := s.TransactMany(ctx, token, calls); err != nil {
		return fmt.Errorf("token top-up on the %s chain: %w", s.Name, err)
	}
	return nil
}
