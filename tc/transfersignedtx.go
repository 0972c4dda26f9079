package tc

import "context"

// transferSignedTx is a legacy (Ethereum-style) signed transfer between
// two main-chain test accounts.
func transferSignedTx() Case {
	return Case{
		Name:        "transferSignedTx",
		Description: "legacy signed value transfer between main-chain test accounts",
		Family:      "transfer",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			if err := needAccounts(env.MC); err != nil {
				return nil, err
			}
			return newPlainTransfer(ctx, env.MC, "transferSignedTx", legacyTransfer)
		},
	}
}
