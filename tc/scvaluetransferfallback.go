package tc

import (
	"context"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
	"github.com/klayslave/klayslave/klay"
)

// scValueTransferFallback sends KLAY to the source bridge as a plain
// transfer. The bridge's fallback function requests a transfer of
// msg.value − feeOfKLAY to the sender's own address on the other chain, so
// the recipient is the sender's address there, not a test account. It
// needs more gas than a plain transfer, estimated at set-up.
func scValueTransferFallback() Case {
	return Case{
		Name:        "scValueTransferFallbackTc",
		Aliases:     []string{"scKLAYTransferFallbackTc"},
		Description: "plain KLAY transfer to the bridge (fallback → transfer to the sender's address on the other chain)",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newFallbackTransfer(ctx, env, "scValueTransferFallbackTc")
		},
	}
}

func newFallbackTransfer(ctx context.Context, env *Env, name string) (*bridgeTask, error) {
	s, err := setupBridge(ctx, env, bridge.Want{})
	if err != nil {
		return nil, err
	}
	var value [2]*big.Int
	var gas [2]uint64
	err = s.perLeg(func(l *leg) error {
		fee, err := bridge.KLAYFee(ctx, l.src.chain.Client, l.srcBridge)
		if err != nil {
			return err
		}
		value[l.dir] = new(big.Int).Add(transferValue(), fee)
		gas[l.dir], err = l.src.estimate(ctx, l.src.chain.Accounts[0].Address, l.srcBridge, value[l.dir], nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.task(name, func(ctx context.Context, l *leg, from *klay.Account, _ common.Address, _ *big.Int) (*klay.Ticket, error) {
		return l.src.call(ctx, from, l.srcBridge, value[l.dir], gas[l.dir], nil)
	}), nil
}
