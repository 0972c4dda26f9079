package tc

import "context"

// scTokenTransfer2Step moves ERC-20 tokens in two steps: approve(bridge,
// amount+fee) then bridge.requestERC20Transfer(token, to, amount, feeLimit,
// extraData); its latency covers both sends.
func scTokenTransfer2Step() Case {
	return Case{
		Name:        "scTokenTransfer2StepTc",
		Aliases:     []string{"scERC20Transfer2StepTc"},
		Description: "ERC-20 in two steps: approve + bridge.requestERC20Transfer; latency = both accepted",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newTokenTransfer(ctx, env, "scTokenTransfer2StepTc", twoStep, false)
		},
	}
}
