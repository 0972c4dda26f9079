package klay

import (
	"context"
	"fmt"
	"math/big"

	"github.com/kaiachain/kaia/accounts/abi"
	"github.com/kaiachain/kaia/common"
)

// View runs a read-only call of method on the contract at `to` and returns
// its decoded outputs.
func View(ctx context.Context, c *Client, a abi.ABI, to common.Address, method string, args ...any) ([]any, error) {
	data, err := a.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	out, err := c.CallContract(ctx, CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, to.Hex(), err)
	}
	res, err := a.Unpack(method, out)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", method, to.Hex(), err)
	}
	return res, nil
}

// ViewBig is View for a method with one uint256 output.
func ViewBig(ctx context.Context, c *Client, a abi.ABI, to common.Address, method string, args ...any) (*big.Int, error) {
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

// ViewAddress is View for a method with one address output.
func ViewAddress(ctx context.Context, c *Client, a abi.ABI, to common.Address, method string, args ...any) (common.Address, error) {
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
