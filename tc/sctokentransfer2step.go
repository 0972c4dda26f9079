package tc

import "context"

// scTokenTransfer2Step moves ERC-20 tokens in two steps: approve(bridge,
// amount+fee) then bridge.requestERC20Transfer(token, to, amount, feeLimit,
// extraData); the iteration is decided by the request's block.
func scTokenTransfer2Step() Case {
	return Case{
		Name:        "scTokenTransfer2StepTc",
		Aliases:     []string{"scERC20Transfer2StepTc"},
		Description: "ERC-20 in two steps: approve + bridge.requestERC20Transfer; the iteration is the request, decided by its block",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newTokenTransfer(ctx, env, "scTokenTransfer2StepTc", twoStep, false)
		},
	}
}
