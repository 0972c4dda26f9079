package tc

import "context"

// scTokenTransfer moves ERC-20 tokens through the bridge with
// token.requestValueTransfer(amount, to, feeLimit, extraData), in a random
// direction; its latency is the RPC acceptance of the request.
func scTokenTransfer() Case {
	return Case{
		Name:        "scTokenTransferTc",
		Aliases:     []string{"scERC20TransferTc"},
		Description: "ERC-20 through the bridge (token.requestValueTransfer), random direction",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newTokenTransfer(ctx, env, "scTokenTransferTc", oneStep, false)
		},
	}
}
