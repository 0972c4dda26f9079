package tc

import "context"

// scTokenTransferWithCheck is scTokenTransferTc plus the end-to-end entry
// "<case> <direction> e2e", followed by the tracker goroutine.
func scTokenTransferWithCheck() Case {
	return Case{
		Name:        "scTokenTransferWithCheckTc",
		Aliases:     []string{"scERC20TransferTcWithCheck"},
		Description: "scTokenTransferTc plus the end-to-end latency until the handle tx succeeds",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newTokenTransfer(ctx, env, "scTokenTransferWithCheckTc", oneStep, true)
		},
	}
}
