package tc

import "context"

// scChainValueTransfer is the service-chain baseline: a Klaytn
// TxTypeValueTransfer between two service-chain test accounts.
func scChainValueTransfer() Case {
	return Case{
		Name:        "scChainValueTransferTc",
		Description: "TxTypeValueTransfer between service-chain test accounts (baseline beside the bridge)",
		Family:      "transfer",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			if err := needAccounts(env.SC); err != nil {
				return nil, err
			}
			return newPlainTransfer(ctx, env.SC, "scChainValueTransferTc", kaiaValueTransfer)
		},
	}
}
