package tc

import (
	"context"
	"fmt"
	"math/big"
	"sync"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
	"github.com/klayslave/klayslave/klay"
)

// Token amounts, in base units of the 18-decimal ServiceChainToken.
var (
	tokenAmount   = big.NewInt(1e18)                                    // moved per iteration
	accountTokens = new(big.Int).Mul(big.NewInt(1e6), big.NewInt(1e18)) // each test account holds at least
)

// tokenMode says how a token case requests its transfer.
type tokenMode int

const (
	oneStep tokenMode = iota // token.requestValueTransfer(...)
	twoStep                  // token.approve(bridge) + bridge.requestERC20Transfer(...)
)

// newTokenTransfer prepares an ERC-20 bridge case: the shared token pair,
// this worker's accounts topped up with tokens, the fee (feeOfERC20, given
// as feeLimit) and the gas limits, once per direction.
func newTokenTransfer(ctx context.Context, env *Env, name string, mode tokenMode, check bool) (*bridgeTask, error) {
	s, err := setupBridge(ctx, env, bridge.Want{ERC20: true})
	if err != nil {
		return nil, err
	}
	s.withTokens(s.state.ERC20)
	if err := s.topUpTokens(ctx); err != nil {
		return nil, err
	}
	var fee [2]*big.Int
	var gas, approveGas [2]uint64
	extra := []byte{}
	err = s.perLeg(func(l *leg) error {
		if fee[l.dir], err = bridge.ERC20Fee(ctx, l.src.chain.Client, l.srcBridge, l.srcToken); err != nil {
			return err
		}
		from, to := l.src.chain.Accounts[0], l.dst.chain.Accounts[0].Address
		if mode == oneStep {
			data, err := s.abis.Token.Pack("requestValueTransfer", tokenAmount, to, fee[l.dir], extra)
			if err != nil {
				return err
			}
			gas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcToken, nil, data)
			return err
		}
		// The request can only be estimated with an allowance in place:
		// approve once for real, then estimate both calls.
		approve, err := s.abis.Token.Pack("approve", l.srcBridge, new(big.Int).Add(tokenAmount, fee[l.dir]))
		if err != nil {
			return err
		}
		if approveGas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcToken, nil, approve); err != nil {
			return err
		}
		if err := sendAndWait(ctx, l.src, from, l.srcToken, approveGas[l.dir], approve); err != nil {
			return fmt.Errorf("approve for the gas estimate: %w", err)
		}
		data, err := s.abis.Bridge.Pack("requestERC20Transfer", l.srcToken, to, tokenAmount, fee[l.dir], extra)
		if err != nil {
			return err
		}
		gas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcBridge, nil, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	var send sender
	if mode == oneStep {
		send = func(ctx context.Context, l *leg, from *klay.Account, to common.Address, _ *big.Int) (*klay.Ticket, error) {
			data, err := s.abis.Token.Pack("requestValueTransfer", tokenAmount, to, fee[l.dir], extra)
			if err != nil {
				return nil, err
			}
			return l.src.call(ctx, from, l.srcToken, nil, gas[l.dir], data)
		}
	} else {
		// approve sets (not adds to) the allowance: one account's approve
		// and request must not interleave with another iteration's, or a
		// request would find the allowance used up. Holding the lock only
		// while sending keeps the pair in nonce order, so they are mined
		// in order too.
		locks := &accountLocks{}
		send = func(ctx context.Context, l *leg, from *klay.Account, to common.Address, _ *big.Int) (*klay.Ticket, error) {
			approve, err := s.abis.Token.Pack("approve", l.srcBridge, new(big.Int).Add(tokenAmount, fee[l.dir]))
			if err != nil {
				return nil, err
			}
			data, err := s.abis.Bridge.Pack("requestERC20Transfer", l.srcToken, to, tokenAmount, fee[l.dir], extra)
			if err != nil {
				return nil, err
			}
			unlock := locks.lock(from.Address)
			defer unlock()
			if _, err := l.src.call(ctx, from, l.srcToken, nil, approveGas[l.dir], approve); err != nil {
				return nil, fmt.Errorf("approve: %w", err)
			}
			return l.src.call(ctx, from, l.srcBridge, nil, gas[l.dir], data)
		}
	}
	t := s.task(name, send)
	if check {
		t.track = startTracker(ctx, s.cfg.Subbridge)
	}
	return t, nil
}

// topUpTokens gives this worker's test accounts tokens on both chains.
func (s *bridgeSetup) topUpTokens(ctx context.Context) error {
	t := s.state.ERC20
	if err := bridge.TopUpTokens(ctx, s.cfg.MC, t.Parent, klay.Addresses(s.mc.chain.Accounts), accountTokens); err != nil {
		return err
	}
	return bridge.TopUpTokens(ctx, s.cfg.SC, t.Child, klay.Addresses(s.sc.chain.Accounts), accountTokens)
}

// sendAndWait sends a set-up call from a test account and waits for a
// successful receipt.
func sendAndWait(ctx context.Context, c *chainTx, from *klay.Account, to common.Address, gas uint64, data []byte) error {
	tk, err := c.call(ctx, from, to, nil, gas, data)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, klay.ReceiptTimeout)
	defer cancel()
	_, err = wait(ctx, tk)
	return err
}

// accountLocks is one mutex per account address.
type accountLocks struct {
	mu sync.Mutex
	m  map[common.Address]*sync.Mutex
}

func (a *accountLocks) lock(addr common.Address) (unlock func()) {
	a.mu.Lock()
	if a.m == nil {
		a.m = map[common.Address]*sync.Mutex{}
	}
	l := a.m[addr]
	if l == nil {
		l = &sync.Mutex{}
		a.m[addr] = l
	}
	a.mu.Unlock()
	l.Lock()
	return l.Unlock
}
