package bridge

import (
	"context"
	"fmt"
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

// View runs a read-only call of method on the contract at `to` and returns
// its decoded outputs.
func View(ctx context.Context, c *klay.Client, a abi.ABI, to common.Address, method string, args ...any) ([]any, error) {
	data, err := a.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	out, err := c.CallContract(ctx, klay.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, to.Hex(), err)
	}
	res, err := a.Unpack(method, out)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, to.Hex(), err)
	}
	return res, nil
}

// viewBig is View for a method with one uint256 output.
func viewBig(ctx context.Context, c *klay.Client, a abi.ABI, to common.Address, method string, args ...any) (*big.Int, error) {
	out, err := View(ctx, c, a, to, method, args...)
	if err != nil {
		return nil, err
	}
	v, ok := out[0].(*big.Int)
	if !ok {
		return nil, fmt.Errorf("%s on %s: output is %T", method, to.Hex(), out[0])
	}
	return v, nil
}

// viewAddress is View for a method with one address output.
func viewAddress(ctx context.Context, c *klay.Client, a abi.ABI, to common.Address, method string, args ...any) (common.Address, error) {
	out, err := View(ctx, c, a, to, method, args...)
	if err != nil {
		return common.Address{}, err
	}
	v, ok := out[0].(common.Address)
	if !ok {
		return common.Address{}, fmt.Errorf("%s on %s: output is %T", method, to.Hex(), out[0])
	}
	return v, nil
}

// KLAYFee returns the bridge's feeOfKLAY, which a KLAY request must add
// to the value it sends.
func KLAYFee(ctx context.Context, c *klay.Client, bridge common.Address) (*big.Int, error) {
	a, err := loadABI(bridgeABI)
	if err != nil {
		return nil, err
	}
	return viewBig(ctx, c, a, bridge, "feeOfKLAY")
}

// ERC20Fee returns the bridge's feeOfERC20(token), which a token request
// must allow as feeLimit.
func ERC20Fee(ctx context.Context, c *klay.Client, bridge, token common.Address) (*big.Int, error) {
	a, err := loadABI(bridgeABI)
	if err != nil {
		return nil, err
	}
	return viewBig(ctx, c, a, bridge, "feeOfERC20", token)
}

// TokenBalance returns token.balanceOf(owner).
func TokenBalance(ctx context.Context, c *klay.Client, token, owner common.Address) (*big.Int, error) {
	a, err := loadABI(tokenABI)
	if err != nil {
		return nil, err
	}
	return viewBig(ctx, c, a, token, "balanceOf", owner)
}

// NFTOwner returns nft.ownerOf(id). ownerOf reverts for ids never minted.
func NFTOwner(ctx context.Context, c *klay.Client, nft common.Address, id *big.Int) (common.Address, error) {
	a, err := loadABI(nftABI)
	if err != nil {
		return common.Address{}, err
	}
	return viewAddress(ctx, c, a, nft, "ownerOf", id)
}
