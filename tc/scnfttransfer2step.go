package tc

import "context"

// scNFTTransfer2Step moves an ERC-721 id in two steps: approve(bridge, id)
// then bridge.requestERC721Transfer(token, to, id, extraData). The latency
// covers both sends.
func scNFTTransfer2Step() Case {
	return Case{
		Name:        "scNFTTransfer2StepTc",
		Aliases:     []string{"scERC721Transfer2StepTc"},
		Description: "ERC-721 in two steps: approve + bridge.requestERC721Transfer; the iteration is the request, decided by its block",
		Family:      "bridge",
		NeedsChains: true,
		New: func(ctx context.Context, env *Env) (Task, error) {
			return newNFTTransfer(ctx, env, "scNFTTransfer2StepTc", twoStep, false)
		},
	}
}
