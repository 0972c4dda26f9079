package tc

import "context"

// scValueTransferWithCheck is scValueTransferTc plus an end-to-end entry
// "<case> <direction> e2e": the time from submitting the request until the
// handle transaction on the other chain has a successful receipt. The
// handling is followed by a tracker goroutine, so users never wait for it.
func scValueTransferWithCheck() Case {
	return Case{
		Name:        "scValueTransferWithCheckTc",
		Aliases:     []string{"scKLAYTransferTcWithCheck", "scValueTransferTcWithCheck"},
		Description: "scValueTransferTc plus the end-to-end latency until the handle tx succeeds on the other chain",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newKLAYTransfer(ctx, env, "scValueTransferWithCheckTc", true)
		},
	}
}
