package bridge

import (
	"context"
	"math/big"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

// Names of the shipped contract ABIs.
const (
	bridgeABI = contracts.Bridge
	tokenABI  = contracts.ServiceChainToken
	nftABI    = contracts.ServiceChainNFT
)

func loadABI(name string) (abi.ABI, error) {
	c, err := contracts.Load(name)
	if err != nil {
		return abi.ABI{}, err
	}
	return c.ABI, nil
}

// ABIs are the parsed ABIs the test cases encode calls with.
type ABIs struct {
	Bridge, Token, NFT abi.ABI
}

// LoadABIs parses the bridge, ERC-20 and ERC-721 ABIs.
func LoadABIs() (ABIs, error) {
	var out ABIs
	var err error
	if out.Bridge, err = loadABI(bridgeABI); err != nil {
		return out, err
	}
	if out.Token, err = loadABI(tokenABI); err != nil {
		return out, err
	}
	out.NFT, err = loadABI(nftABI)
	return out, err
}

// KLAYFee returns the bridge's feeOfKLAY, which a KLAY request must add
// to the value it sends.
func KLAYFee(ctx context.Context, c *klay.Client, bridge common.Address) (*big.Int, error) {
	a, err := loadABI(bridgeABI)
	if err != nil {
		return nil, err
	}
	return klay.ViewBig(ctx, c, a, bridge, "feeOfKLAY")
}

// ERC20Fee returns the bridge's feeOfERC20(token), which a token request
// must allow as feeLimit.
func ERC20Fee(ctx context.Context, c *klay.Client, bridge, token common.Address) (*big.Int, error) {
	a, err := loadABI(bridgeABI)
	if err != nil {
		return nil, err
	}
	return klay.ViewBig(ctx, c, a, bridge, "feeOfERC20", token)
}

// TokenBalance returns token.balanceOf(owner).
func TokenBalance(ctx context.Context, c *klay.Client, token, owner common.Address) (*big.Int, error) {
	a, err := loadABI(tokenABI)
	if err != nil {
		return nil, err
	}
	return klay.ViewBig(ctx, c, a, token, "balanceOf", owner)
}

// NFTOwner returns nft.ownerOf(id). ownerOf reverts for ids never minted.
func NFTOwner(ctx context.Context, c *klay.Client, nft common.Address, id *big.Int) (common.Address, error) {
	a, err := loadABI(nftABI)
	if err != nil {
		return common.Address{}, err
	}
	return klay.ViewAddress(ctx, c, a, nft, "ownerOf", id)
}
