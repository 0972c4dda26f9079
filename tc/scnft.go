package tc

import (
	"context"
	"fmt"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
	"github.com/klayslave/klayslave/klay"
)

// nftsPerAccount is how many NFT ids each test account gets per case and
// chain. With check, ids travel back and forth and are reused; without, an
// account that sent all of its ids records "no NFT left".
const nftsPerAccount = 20

// newNFTTransfer prepares an ERC-721 bridge case: the shared NFT pair,
// fresh ids minted to this worker's accounts (and to the bridges that pay
// from holdings), and the gas limits, once per direction.
func newNFTTransfer(ctx context.Context, env *Env, name string, mode tokenMode, check bool) (*bridgeTask, error) {
	s, err := setupBridge(ctx, env, bridge.Want{ERC721: true})
	if err != nil {
		return nil, err
	}
	s.withTokens(s.state.ERC721)
	mc, sc, err := bridge.MintNFTs(ctx, s.cfg, s.state, klay.Addresses(env.MC.Accounts), klay.Addresses(env.SC.Accounts), nftsPerAccount)
	if err != nil {
		return nil, err
	}
	pools := newNFTPools()
	for d, p := range map[direction]bridge.NFTPools{mainToService: mc, serviceToMain: sc} {
		for owner, ids := range p {
			for _, id := range ids {
				pools.put(d, owner, id)
			}
		}
	}
	var gas, approveGas [2]uint64
	extra := []byte{}
	err = s.perLeg(func(l *leg) error {
		from, to := l.src.chain.Accounts[0], l.dst.chain.Accounts[0].Address
		// Estimate with an id the account owns; it stays in its pool.
		id := pools.take(l.dir, from.Address)
		if id == nil {
			return errNoNFT
		}
		defer pools.put(l.dir, from.Address, id)
		if mode == oneStep {
			data, err := s.abis.NFT.Pack("requestValueTransfer", id, to, extra)
			if err != nil {
				return err
			}
			gas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcToken, nil, data)
			return err
		}
		approve, err := s.abis.NFT.Pack("approve", l.srcBridge, id)
		if err != nil {
			return err
		}
		if approveGas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcToken, nil, approve); err != nil {
			return err
		}
		if err := sendAndWait(ctx, l.src, from, l.srcToken, approveGas[l.dir], approve); err != nil {
			return fmt.Errorf("approve for the gas estimate: %w", err)
		}
		data, err := s.abis.Bridge.Pack("requestERC721Transfer", l.srcToken, to, id, extra)
		if err != nil {
			return err
		}
		gas[l.dir], err = l.src.estimate(ctx, from.Address, l.srcBridge, nil, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	send := func(ctx context.Context, l *leg, from *klay.Account, to common.Address, id *big.Int) (*klay.Ticket, error) {
		if mode == oneStep {
			data, err := s.abis.NFT.Pack("requestValueTransfer", id, to, extra)
			if err != nil {
				return nil, err
			}
			return l.src.call(ctx, from, l.srcToken, nil, gas[l.dir], data)
		}
		approve, err := s.abis.NFT.Pack("approve", l.srcBridge, id)
		if err != nil {
			return nil, err
		}
		data, err := s.abis.Bridge.Pack("requestERC721Transfer", l.srcToken, to, id, extra)
		if err != nil {
			return nil, err
		}
		// Each id has its own approval, so iterations need no lock; the
		// request follows the approve in nonce order.
		if _, err := l.src.call(ctx, from, l.srcToken, nil, approveGas[l.dir], approve); err != nil {
			return nil, fmt.Errorf("approve: %w", err)
		}
		return l.src.call(ctx, from, l.srcBridge, nil, gas[l.dir], data)
	}
	t := s.task(name, send)
	t.nfts = pools
	if check {
		t.track = startTracker(ctx, s.cfg.Subbridge)
	}
	return t, nil
}
