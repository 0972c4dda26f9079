// Package bridge sets up what klayslave's bridge test cases need on a Kaia
// main chain and a service chain: a subscribed bridge pair with an operator
// threshold of 1 and KLAY to pay out, and ERC-20 / ERC-721 token pairs
// registered with it, held by the bridges and the test accounts.
//
// Set-up is idempotent across workers: what one worker deploys is recorded
// in a state file (see State), written under a lock file, and every later
// set-up with the same chains and funders verifies it on chain and reuses
// it. Contracts are called through ABI encoding only (package contracts),
// never through Kaia's generated bindings, so the module builds with no
// linker flag.
package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// Config is what Setup needs. MC and SC, Subbridge and StateDir are
// required; zero values elsewhere take defaults.
type Config struct {
	MC, SC    Side
	Subbridge *klay.Client
	// Given is the pair named by -mcBridge/-scBridge; zero means deploy a
	// pair (or reuse the one recorded in the state directory).
	Given Pair
	// StateDir holds the state files shared by workers; empty means
	// $TMPDIR/klayslave-state.
	StateDir string
	// Charge is the KLAY (peb) each bridge must hold to pay out transfers
	// from the other side; it is topped up at every set-up. Default 1000 KLAY.
	Charge *big.Int
	// OperatorMin is the KLAY (peb) each bridge operator must hold to pay
	// for handle transactions. Default 100 KLAY.
	OperatorMin *big.Int
	Log         *slog.Logger
}

func (c *Config) defaults() {
	if c.StateDir == "" {
		c.StateDir = filepath.Join(os.TempDir(), "klayslave-state")
	}
	if c.Charge == nil {
		c.Charge = klay.KLAYs(1000)
	}
	if c.OperatorMin == nil {
		c.OperatorMin = klay.KLAYs(100)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.MC.Name == "" {
		c.MC.Name = "main"
	}
	if c.SC.Name == "" {
		c.SC.Name = "service"
	}
}

// Want says which token pairs Setup must provide besides the bridge pair.
type Want struct {
	ERC20, ERC721 bool
}

// Setup makes sure a usable bridge pair (and the wanted token pairs)
// exist, under the state lock, and returns the recorded state. It is safe to
// call from any number of goroutines and processes at once, and cheap when
// everything is already in place (a few reads per contract).
func Setup(ctx context.Context, cfg Config, want Want) (State, error) {
	var st State
	err := cfg.locked(ctx, func(s *State) error {
		if err := cfg.ensurePair(ctx, s); err != nil {
			return err
		}
		if want.ERC20 {
			if err := cfg.ensureERC20(ctx, s); err != nil {
				return fmt.Errorf("ERC-20 set-up: %w", err)
			}
		}
		if want.ERC721 {
			if err := cfg.ensureERC721(ctx, s); err != nil {
				return fmt.Errorf("ERC-721 set-up: %w", err)
			}
		}
		st = *s
		return nil
	})
	return st, err
}

// locked runs f on the recorded state while holding the state lock, and
// records the state f leaves (also after an error, so that a contract
// deployed before a later step failed is reused next time).
func (cfg *Config) locked(ctx context.Context, f func(*State) error) error {
	cfg.defaults()
	if cfg.MC.Client == nil || cfg.SC.Client == nil || cfg.MC.Funder == nil || cfg.SC.Funder == nil || cfg.Subbridge == nil {
		return fmt.Errorf("bridge set-up needs both chains with funders and a sub-bridge client")
	}
	key := StateKey(cfg.MC.ChainID, cfg.SC.ChainID, cfg.MC.Funder.Address, cfg.SC.Funder.Address, cfg.Given)
	s, err := newStore(cfg.StateDir, key)
	if err != nil {
		return err
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := s.load()
	if err != nil {
		return err
	}
	st.MCChainID, st.SCChainID = cfg.MC.ChainID.Uint64(), cfg.SC.ChainID.Uint64()
	st.MCFunder, st.SCFunder = cfg.MC.Funder.Address, cfg.SC.Funder.Address
	before := st
	ferr := f(&st)
	if st != before {
		if err := s.save(st); err != nil && ferr == nil {
			ferr = fmt.Errorf("record set-up in %s: %w", s.path, err)
		}
	}
	return ferr
}

// ensurePair verifies the given or recorded pair, or deploys a new one,
// then makes sure it is subscribed, has threshold 1 and can pay out.
func (cfg *Config) ensurePair(ctx context.Context, st *State) error {
	sb := Subbridge{cfg.Subbridge}
	if err := cfg.fundOperators(ctx, sb); err != nil {
		return err
	}
	switch {
	case !cfg.Given.IsZero():
		if err := cfg.verifyCode(ctx, cfg.Given); err != nil {
			return fmt.Errorf("-mcBridge/-scBridge: %w", err)
		}
		st.Bridge = cfg.Given
	case !st.Bridge.IsZero() && cfg.verifyCode(ctx, st.Bridge) == nil:
		cfg.Log.Info("reusing bridge pair", "parent", st.Bridge.Parent.Hex(), "child", st.Bridge.Child.Hex())
	default:
		p, err := cfg.deploy(ctx, sb)
		if err != nil {
			return err
		}
		if err := klay.Poll(ctx, klay.ReceiptTimeout, func() (bool, error) { return cfg.verifyCode(ctx, p) == nil, nil }); err != nil {
			return fmt.Errorf("deployed bridge pair %s/%s has no code: %w", p.Parent.Hex(), p.Child.Hex(), err)
		}
		cfg.Log.Info("deployed bridge pair", "parent", p.Parent.Hex(), "child", p.Child.Hex())
		// A new pair has new tokens: the old ones are registered elsewhere.
		*st = State{MCChainID: st.MCChainID, SCChainID: st.SCChainID, MCFunder: st.MCFunder, SCFunder: st.SCFunder,
			Bridge: p, NextNFTID: st.NextNFTID}
	}
	j, err := sb.Find(ctx, st.Bridge)
	if err != nil {
		return err
	}
	if j == nil {
		if err := sb.RegisterBridge(ctx, st.Bridge); err != nil {
			return fmt.Errorf("subbridge_registerBridge: %w", err)
		}
	}
	if j == nil || !j.Subscribed {
		if err := sb.SubscribeBridge(ctx, st.Bridge); err != nil {
			return fmt.Errorf("subbridge_subscribeBridge: %w", err)
		}
	}
	for _, b := range []common.Address{st.Bridge.Parent, st.Bridge.Child} {
		if err := sb.SetThreshold(ctx, b, 1); err != nil {
			return err
		}
	}
	if err := cfg.charge(ctx, cfg.MC, st.Bridge.Parent); err != nil {
		return err
	}
	return cfg.charge(ctx, cfg.SC, st.Bridge.Child)
}

// verifyCode checks that both bridges of p have code.
func (cfg *Config) verifyCode(ctx context.Context, p Pair) error {
	for _, x := range []struct {
		side Side
		addr common.Address
	}{{cfg.MC, p.Parent}, {cfg.SC, p.Child}} {
		ok, err := klay.HasCode(ctx, x.side.Client, x.addr)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no contract at %s on the %s chain", x.addr.Hex(), x.side.Name)
		}
	}
	return nil
}

// fundOperators tops up the operators, which pay for handle transactions.
func (cfg *Config) fundOperators(ctx context.Context, sb Subbridge) error {
	parent, child, err := sb.Operators(ctx)
	if err != nil {
		return fmt.Errorf("bridge operators: %w", err)
	}
	for _, x := range []struct {
		side Side
		addr common.Address
	}{{cfg.MC, parent}, {cfg.SC, child}} {
		bal, err := x.side.Client.BalanceAt(ctx, x.addr, nil)
		if err != nil {
			return err
		}
		if bal.Cmp(cfg.OperatorMin) >= 0 {
			continue
		}
		target := new(big.Int).Mul(cfg.OperatorMin, big.NewInt(2))
		if _, err := klay.Fund(ctx, x.side.Client, x.side.Funder, []common.Address{x.addr}, target, klay.FundOptions{Waiter: x.side.Waiter}); err != nil {
			return fmt.Errorf("fund %s-chain operator %s: %w", x.side.Name, x.addr.Hex(), err)
		}
	}
	return nil
}

// charge tops the bridge's KLAY up to cfg.Charge with chargeWithoutEvent,
// which adds to the balance without requesting a transfer.
func (cfg *Config) charge(ctx context.Context, s Side, bridge common.Address) error {
	bal, err := s.Client.BalanceAt(ctx, bridge, nil)
	if err != nil {
		return err
	}
	if bal.Cmp(cfg.Charge) >= 0 {
		return nil
	}
	abi, err := loadABI(bridgeABI)
	if err != nil {
		return err
	}
	data, err := abi.Pack("chargeWithoutEvent")
	if err != nil {
		return err
	}
	if _, err := s.Transact(ctx, &bridge, new(big.Int).Sub(cfg.Charge, bal), data); err != nil {
		return fmt.Errorf("charge %s-chain bridge %s: %w", s.Name, bridge.Hex(), err)
	}
	cfg.Log.Info("charged bridge", "chain", s.Name, "bridge", bridge.Hex())
	return nil
}

// deploy calls subbridge_deployBridge, retrying a few times: right after
// the node starts, the operators' nonces may be stale and the first
// deployment fails ("no contract code after deployment") while the
// sub-bridge resyncs them.
func (cfg *Config) deploy(ctx context.Context, sb Subbridge) (Pair, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var p Pair
		if p, err = sb.DeployBridge(ctx); err == nil {
			return p, nil
		}
		cfg.Log.Warn("bridge deployment failed", "attempt", attempt, "err", err)
		if ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	return Pair{}, err
}
