package tc

import "context"

// mcValueTransfer is the main-chain baseline: a Klaytn TxTypeValueTransfer
// between two main-chain test accounts.
func mcValueTransfer() Case {
	return Case{
		Name:        "mcValueTransferTc",
		Description: "TxTypeValueTransfer between main-chain test accounts (baseline beside the bridge)",
		Family:      "transfer",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			if err := needAccounts(env.MC); err != nil {
				return nil, err
			}
			return newPlainTransfer(ctx, env.MC, "mcValueTransferTc", kaiaValueTransfer)
		},
	}
}
