package tc

import "context"

// scNFTTransferWithCheck moves an ERC-721 id the sender owns through the
// bridge with token.requestValueTransfer(uid, to, extraData), and records
// the end-to-end latency until the handle tx succeeds. Handled ids go back
// to the recipient's pool, so they travel on in the other direction.
func scNFTTransferWithCheck() Case {
	return Case{
		Name:        "scNFTTransferWithCheckTc",
		Aliases:     []string{"scERC721TransferTcWithCheck"},
		Description: "ERC-721 through the bridge (token.requestValueTransfer) plus the end-to-end latency",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newNFTTransfer(ctx, env, "scNFTTransferWithCheckTc", oneStep, true)
		},
	}
}
