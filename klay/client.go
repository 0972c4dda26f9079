// Package klay is klayslave's chain layer: a typed JSON-RPC client over
// Kaia's networks/rpc (klay_ namespace), funder keys, deterministic test
// accounts, per-account nonce managers, parallel funding, pre-flight checks
// and the sweep that returns test funds to the funder.
//
// Only Kaia packages that link with a plain `go build` are imported here
// (blockchain/types, crypto, common, networks/rpc, rlp); never client or bind.
package klay

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// ErrNotFound is returned by TransactionReceipt when the node does not know
// the receipt (yet).
var ErrNotFound = errors.New("not found")

// DefaultCallTimeout bounds a single RPC call, whatever the caller's
// context allows: a sweep under a 3-minute context against a node that
// accepts connections but never answers waited those 3 minutes on one call.
// A call that is meant to take longer says so (CallWithin).
const DefaultCallTimeout = 15 * time.Second

// maxBatch is the largest JSON-RPC batch the client sends at once.
const maxBatch = 250

// Client is a typed JSON-RPC client for Klaytn and Kaia nodes. It speaks the
// klay_ namespace, which both answer. It is safe for concurrent use.
type Client struct {
	rpc         *rpc.Client
	url         string
	callTimeout time.Duration

	mu      sync.Mutex
	chainID *big.Int // cached after the first successful klay_chainID

	// raws coalesces concurrent klay_sendRawTransaction calls.
	raws *rawBatcher
	// post, for HTTP endpoints, sends a request body as is and returns
	// the answer's body (callLarge).
	post func(ctx context.Context, body []byte, limit int) ([]byte, error)
}

// Dial connects to an HTTP(S) endpoint with a connection pool of poolSize
// connections (at least 4), sized by the caller for its number of users.
// ws:// and ipc endpoints are dialed with Kaia's default dialer. Dial does no
// network I/O for HTTP; use CheckReachable or any call to find out whether the
// node answers.
func Dial(ctx context.Context, rawurl string, poolSize int) (*Client, error) {
	u, err := url.Parse(rawurl)
	if err != nil {
		return nil, fmt.Errorf("invalid RPC URL %q", rawurl)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("invalid RPC URL %q: no host", rawurl)
		}
		hc := newHTTPClient(poolSize)
		c, err := rpc.DialHTTPWithClient(rawurl, hc)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", rawurl, err)
		}
		cl := NewClient(c, rawurl)
		rp, err := newRawPoster(rawurl, hc)
		if err != nil {
			return nil, fmt.Errorf("invalid RPC URL %q", rawurl)
		}
		cl.raws.post, cl.post = rp.post, rp.do
		return cl, nil
	default:
		c, err := rpc.DialContext(ctx, rawurl)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", rawurl, err)
		}
		return NewClient(c, rawurl), nil
	}
}

// newHTTPClient returns an http.Client whose transport keeps up to poolSize
// connections to the node open, so that many users do not redial.
func newHTTPClient(poolSize int) *http.Client {
	if poolSize < 4 {
		poolSize = 4
	}
	tr := &http.Transport{
		Proxy:               nil, // all traffic is meant for the given URL
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        poolSize,
		MaxIdleConnsPerHost: poolSize,
		MaxConnsPerHost:     poolSize,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr}
}

// NewClient wraps an existing Kaia RPC client. url is used in messages only.
func NewClient(c *rpc.Client, url string) *Client {
	cl := &Client{rpc: c, url: url, callTimeout: DefaultCallTimeout}
	cl.raws = &rawBatcher{c: cl, send: cl.batch}
	return cl
}

// URL returns the endpoint the client was dialed with.
func (c *Client) URL() string { return c.url }

// RPC returns the underlying Kaia RPC client.
func (c *Client) RPC() *rpc.Client { return c.rpc }

// Close closes idle connections.
func (c *Client) Close() { c.rpc.Close() }

// Call is a passthrough for any JSON-RPC method (subbridge_*, governance_*…).
// A context without deadline gets DefaultCallTimeout.
func (c *Client) Call(ctx context.Context, result interface{}, method string, args ...interface{}) error {
	return c.CallWithin(ctx, c.callTimeout, result, method, args...)
}

// CallWithin is Call bounded by d instead of the client's call timeout, for
// a call that waits on the chain (subbridge_deployBridge waits for two
// deployments).
func (c *Client) CallWithin(ctx context.Context, d time.Duration, result interface{}, method string, args ...interface{}) error {
	ctx, cancel := within(ctx, d)
	defer cancel()
	return c.rpc.CallContext(ctx, result, method, args...)
}

// BatchCall sends the elements as JSON-RPC batches of at most 250 requests.
// Per-element errors land in BatchElem.Error; the returned error is an I/O error.
func (c *Client) BatchCall(ctx context.Context, elems []rpc.BatchElem) error {
	for start := 0; start < len(elems); start += maxBatch {
		end := min(start+maxBatch, len(elems))
		cctx, cancel := c.withTimeout(ctx)
		err := c.batch(cctx, elems[start:end])
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// batch sends one JSON-RPC batch and returns when ctx ends at the latest.
// Kaia v1.0.3's HTTP batch blocks forever, whatever the context, when a
// node answers with more elements than asked (sendBatchHTTP's unguarded
// channel send), and dereferences a nil element when it answers with an
// id it never asked for (found by FuzzRPCResponses). The call runs in a
// goroutine of its own: a panic becomes an error, and a stuck call is left
// behind; only a broken node costs that. After an error the elements must
// not be read.
func (c *Client) batch(ctx context.Context, elems []rpc.BatchElem) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("malformed JSON-RPC batch response from %s", c.url)
			}
		}()
		done <- c.rpc.BatchCallContext(ctx, elems)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// withTimeout bounds one call by the client's call timeout; an earlier
// deadline of ctx still wins.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return within(ctx, c.callTimeout)
}

func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// ChainID returns the chain id (klay_chainID). It is cached after the first
// successful call.
func (c *Client) ChainID(ctx context.Context) (*big.Int, error) {
	c.mu.Lock()
	cached := c.chainID
	c.mu.Unlock()
	if cached != nil {
		return new(big.Int).Set(cached), nil
	}
	var id hexutil.Big
	if err := c.Call(ctx, &id, "klay_chainID"); err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.chainID = (*big.Int)(&id)
	c.mu.Unlock()
	return new(big.Int).Set((*big.Int)(&id)), nil
}

// GasPrice returns the node's suggested gas price (klay_gasPrice). After Magma
// this follows the base fee; it is never hard-coded.
func (c *Client) GasPrice(ctx context.Context) (*big.Int, error) {
	var p hexutil.Big
	if err := c.Call(ctx, &p, "klay_gasPrice"); err != nil {
		return nil, err
	}
	return (*big.Int)(&p), nil
}

// BlockNumber returns the number of the latest block.
func (c *Client) BlockNumber(ctx context.Context) (uint64, error) {
	var n hexutil.Uint64
	err := c.Call(ctx, &n, "klay_blockNumber")
	return uint64(n), err
}

// BalanceAt returns the balance of addr at block (nil: latest), in peb.
func (c *Client) BalanceAt(ctx context.Context, addr common.Address, block *big.Int) (*big.Int, error) {
	var b hexutil.Big
	if err := c.Call(ctx, &b, "klay_getBalance", addr, blockArg(block)); err != nil {
		return nil, err
	}
	return (*big.Int)(&b), nil
}

// BalancesAt returns the latest balances of addrs, fetched in batches.
func (c *Client) BalancesAt(ctx context.Context, addrs []common.Address) ([]*big.Int, error) {
	res := make([]hexutil.Big, len(addrs))
	elems := make([]rpc.BatchElem, len(addrs))
	for i, a := range addrs {
		elems[i] = rpc.BatchElem{Method: "klay_getBalance", Args: []interface{}{a, "latest"}, Result: &res[i]}
	}
	if err := c.BatchCall(ctx, elems); err != nil {
		return nil, err
	}
	out := make([]*big.Int, len(addrs))
	for i := range elems {
		if elems[i].Error != nil {
			return nil, fmt.Errorf("balance of %s: %w", addrs[i].Hex(), elems[i].Error)
		}
		out[i] = (*big.Int)(&res[i])
	}
	return out, nil
}

// PendingNonceAt returns the account's nonce counting the transactions in
// the node's pool (klay_getTransactionCount "pending").
func (c *Client) PendingNonceAt(ctx context.Context, addr common.Address) (uint64, error) {
	var n hexutil.Uint64
	err := c.Call(ctx, &n, "klay_getTransactionCount", addr, "pending")
	return uint64(n), err
}

// NonceAt returns the account's nonce at block (nil: latest mined block).
func (c *Client) NonceAt(ctx context.Context, addr common.Address, block *big.Int) (uint64, error) {
	var n hexutil.Uint64
	err := c.Call(ctx, &n, "klay_getTransactionCount", addr, blockArg(block))
	return uint64(n), err
}

// SendRawTransaction submits an RLP-encoded signed transaction. Calls made
// while others are in flight go out together in one JSON-RPC batch (see
// rawBatcher); each still gets its own answer.
func (c *Client) SendRawTransaction(ctx context.Context, raw []byte) (common.Hash, error) {
	return c.raws.do(ctx, raw)
}

// SendTransaction encodes and submits a signed transaction.
func (c *Client) SendTransaction(ctx context.Context, tx *types.Transaction) (common.Hash, error) {
	raw, err := tx.MarshalBinary()
	if err != nil {
		return common.Hash{}, err
	}
	return c.SendRawTransaction(ctx, raw)
}

// CallMsg is the argument of CallContract and EstimateGas.
type CallMsg struct {
	From     common.Address
	To       *common.Address
	Gas      uint64
	GasPrice *big.Int
	Value    *big.Int
	Data     []byte
}

func (m CallMsg) arg() map[string]interface{} {
	a := map[string]interface{}{"from": m.From}
	if m.To != nil {
		a["to"] = m.To
	}
	if len(m.Data) > 0 {
		a["data"] = hexutil.Bytes(m.Data)
	}
	if m.Value != nil {
		a["value"] = (*hexutil.Big)(m.Value)
	}
	if m.Gas != 0 {
		a["gas"] = hexutil.Uint64(m.Gas)
	}
	if m.GasPrice != nil {
		a["gasPrice"] = (*hexutil.Big)(m.GasPrice)
	}
	return a
}

// CallContract executes a read-only call (klay_call) at block (nil: latest).
func (c *Client) CallContract(ctx context.Context, msg CallMsg, block *big.Int) ([]byte, error) {
	var out hexutil.Bytes
	err := c.Call(ctx, &out, "klay_call", msg.arg(), blockArg(block))
	return out, err
}

// EstimateGas estimates the gas msg needs (klay_estimateGas).
func (c *Client) EstimateGas(ctx context.Context, msg CallMsg) (uint64, error) {
	var g hexutil.Uint64
	err := c.Call(ctx, &g, "klay_estimateGas", msg.arg())
	return uint64(g), err
}

// RPCModules returns the namespaces the endpoint serves (rpc_modules).
func (c *Client) RPCModules(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	err := c.Call(ctx, &m, "rpc_modules")
	return m, err
}

func blockArg(n *big.Int) string {
	if n == nil {
		return "latest"
	}
	return hexutil.EncodeBig(n)
}

// oneLine flattens an error text for one-line messages.
func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}
