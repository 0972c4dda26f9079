package tc

import (
	"context"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
	"github.com/klayslave/klayslave/klay"
)

// scValueTransfer moves KLAY through the bridge: requestKLAYTransfer(to,
// value, extraData) on the source chain's bridge, paying value + feeOfKLAY.
func scValueTransfer() Case {
	return Case{
		Name:        "scValueTransferTc",
		Aliases:     []string{"scKLAYTransferTc"},
		Description: "KLAY through the bridge (requestKLAYTransfer), random direction; decided by the request's block",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newKLAYTransfer(ctx, env, "scValueTransferTc", false)
		},
	}
}

// newKLAYTransfer prepares a KLAY bridge case; check adds the end-to-end
// tracking of scValueTransferWithCheckTc.
func newKLAYTransfer(ctx context.Context, env *Env, name string, check bool) (*bridgeTask, error) {
	s, err := setupBridge(ctx, env, bridge.Want{})
	if err != nil {
		return nil, err
	}
	// Read the fee and estimate the gas once per direction.
	var fee [2]*big.Int
	var gas [2]uint64
	extra := []byte{}
	err = s.perLeg(func(l *leg) error {
		f, err := bridge.KLAYFee(ctx, l.src.chain.Client, l.srcBridge)
		if err != nil {
			return err
		}
		data, err := s.abis.Bridge.Pack("requestKLAYTransfer", l.dst.chain.Accounts[0].Address, transferValue(), extra)
		if err != nil {
			return err
		}
		g, err := l.src.estimate(ctx, l.src.chain.Accounts[0].Address, l.srcBridge, new(big.Int).Add(transferValue(), f), data)
		if err != nil {
			return err
		}
		fee[l.dir], gas[l.dir] = f, g
		return nil
	})
	if err != nil {
		return nil, err
	}
	t := s.task(name, func(ctx context.Context, l *leg, from *klay.Account, to common.Address, _ *big.Int) (*klay.Ticket, error) {
		data, err := s.abis.Bridge.Pack("requestKLAYTransfer", to, transferValue(), extra)
		if err != nil {
			return nil, err
		}
		return l.src.call(ctx, from, l.srcBridge, new(big.Int).Add(transferValue(), fee[l.dir]), gas[l.dir], data)
	})
	if check {
		t.track = startTracker(ctx, s.cfg.Subbridge)
	}
	return t, nil
}
