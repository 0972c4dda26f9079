package klay

import (
	"context"
	"errors"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/networks/rpc"
)

// NonceSource is where a NonceManager resyncs from; *Client implements it
// with klay_getTransactionCount(addr, "pending").
type NonceSource interface {
	PendingNonceAt(ctx context.Context, addr common.Address) (uint64, error)
}

// SendOutcome classifies the answer of klay_sendRawTransaction.
type SendOutcome int

const (
	// Accepted: the node took the transaction.
	Accepted SendOutcome = iota
	// Known: the very same transaction is already in the pool ("known
	// transaction: <hash>"); as good as Accepted.
	Known
	// NonceTaken: the nonce is used by a mined or pooled transaction, from
	// another worker sharing the key or from an earlier run ("nonce too low",
	// "there is another tx which has the same nonce in the tx pool",
	// "replacement transaction underpriced", geth's "future transaction
	// tries to replace pending"). Resync and send again with a new nonce.
	NonceTaken
	// PoolFull: "txpool is full"; the nonce was not used. Back off and retry.
	PoolFull
	// Underpriced: the gas price is below the base fee or the unit price;
	// the nonce was not used. Refresh the gas price and retry.
	Underpriced
	// Rejected: any other answer from the node; the nonce was not used.
	Rejected
	// Unknown: no answer (timeout, broken connection); the transaction may
	// or may not be in the pool.
	Unknown
)

var outcomeNames = [...]string{"accepted", "known", "nonce-taken", "pool-full", "underpriced", "rejected", "unknown"}

func (o SendOutcome) String() string { return outcomeNames[o] }

// Error strings of Kaia v1.0.3 (blockchain/error.go, blockchain/tx_pool.go)
// and, for other nodes, go-ethereum's.
var nonceTakenMsgs = []string{
	"nonce too low", // blockchain.ErrNonceTooLow
	"there is another tx which has the same nonce", // blockchain.ErrAlreadyNonceExistInPool
	"replacement transaction underpriced",          // blockchain.ErrReplaceUnderpriced
	"replacement underpriced",
	"future transaction tries to replace pending", // geth
}

var underpricedMsgs = []string{
	"transaction underpriced",   // blockchain.ErrUnderpriced
	"invalid gas price",         // ErrGasPriceBelowBaseFee
	"invalid unit price",        // ErrInvalidUnitPrice (before Magma)
	"invalid gas fee cap",       // ErrFeeCapBelowBaseFee, ErrInvalidGasFeeCap
	"invalid gas tip cap",       // ErrInvalidGasTipCap
	"max fee per gas less than", // geth
}

// ClassifySendError maps the error of a send to a SendOutcome.
func ClassifySendError(err error) SendOutcome {
	if err == nil {
		return Accepted
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		// The connection was never made: the node got nothing, so the
		// nonce is free, not maybe taken.
		return Rejected
	}
	var rerr rpc.Error
	if !errors.As(err, &rerr) {
		// No JSON-RPC answer: transport error, timeout or cancellation.
		return Unknown
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "known transaction") || strings.Contains(msg, "already known"):
		return Known
	case containsAny(msg, nonceTakenMsgs):
		return NonceTaken
	case strings.Contains(msg, "txpool is full"):
		return PoolFull
	case containsAny(msg, underpricedMsgs):
		return Underpriced
	}
	return Rejected
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// nextNonceRe finds the next usable nonce in errors that carry it:
// "next nonce 12" (some Klaytn forks) or geth's "nonce too low: address
// 0x.., tx: 3 state: 12".
var nextNonceRe = regexp.MustCompile(`(?:next nonce:?|state:)\s*(\d+)`)

// NextNonceFromError returns the next nonce an error carries, if any.
func NextNonceFromError(err error) (uint64, bool) {
	if err == nil {
		return 0, false
	}
	m := nextNonceRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, false
	}
	n, perr := strconv.ParseUint(m[1], 10, 64)
	return n, perr == nil
}

// NonceManager assigns an account's nonces locally, so that many
// transactions can be in flight without asking the node each time.
//
//   - Next hands out a nonce; Done reports what became of it.
//   - A nonce the node turned down without using it (pool full, underpriced,
//     rejected) is handed out again first, so no gap remains.
//   - NonceTaken marks the manager dirty: the next Next resyncs from the
//     node's pending count, or fast-forwards when the error carries the next
//     nonce.
//   - Unknown (timeout) marks it dirty too: if nothing else is in flight the
//     resync may go back, filling the gap a lost transaction left, so the
//     account never stalls.
type NonceManager struct {
	addr common.Address
	src  NonceSource

	mu       sync.Mutex
	next     uint64
	synced   bool
	dirty    bool
	inflight int
	free     []uint64 // returned nonces below next, sorted
}

// NewNonceManager returns a manager that syncs from src on first use.
func NewNonceManager(addr common.Address, src NonceSource) *NonceManager {
	return &NonceManager{addr: addr, src: src}
}

// Next returns the nonce for the next transaction. Each Next must be
// followed by one Done with the same nonce.
func (m *NonceManager) Next(ctx context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.synced || m.dirty {
		if err := m.resyncLocked(ctx); err != nil {
			return 0, err
		}
	}
	m.inflight++
	if len(m.free) > 0 {
		n := m.free[0]
		m.free = m.free[1:]
		return n, nil
	}
	n := m.next
	m.next++
	return n, nil
}

// Done reports the outcome of the send that used nonce and returns its
// classification.
func (m *NonceManager) Done(nonce uint64, sendErr error) SendOutcome {
	out := ClassifySendError(sendErr)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inflight > 0 {
		m.inflight--
	}
	switch out {
	case Accepted, Known:
	case NonceTaken:
		if n, ok := NextNonceFromError(sendErr); ok && n > nonce {
			m.fastForwardLocked(n)
		} else {
			m.dirty = true
		}
	case PoolFull, Underpriced, Rejected:
		if strings.Contains(strings.ToLower(sendErr.Error()), "nonce too high") {
			m.dirty = true
		} else {
			m.releaseLocked(nonce)
		}
	case Unknown:
		m.dirty = true
	}
	return out
}

// Release returns a nonce that was never sent (for instance when signing
// failed), so that the next Next hands it out again.
func (m *NonceManager) Release(nonce uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.inflight > 0 {
		m.inflight--
	}
	m.releaseLocked(nonce)
}

func (m *NonceManager) releaseLocked(nonce uint64) {
	if nonce < m.next && !slices.Contains(m.free, nonce) {
		m.free = append(m.free, nonce)
		slices.Sort(m.free)
	}
}

// Resync reloads the nonce from the node now.
func (m *NonceManager) Resync(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.resyncLocked(ctx)
}

// Invalidate makes the next Next resync from the node; use it when a
// transaction this manager numbered turned out to be lost or replaced.
func (m *NonceManager) Invalidate() {
	m.mu.Lock()
	m.dirty = true
	m.mu.Unlock()
}

// Peek returns the nonce Next would hand out without a resync, and whether
// the manager has synced.
func (m *NonceManager) Peek() (uint64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.free) > 0 {
		return m.free[0], m.synced
	}
	return m.next, m.synced
}

func (m *NonceManager) resyncLocked(ctx context.Context) error {
	p, err := m.src.PendingNonceAt(ctx, m.addr)
	if err != nil {
		return err
	}
	if !m.synced || m.inflight == 0 {
		// Nothing of ours is in flight: the node's count is the truth, even
		// if it is lower than ours (a lost transaction left a gap).
		m.next, m.free = p, nil
	} else {
		m.fastForwardLocked(p)
	}
	m.synced, m.dirty = true, false
	return nil
}

func (m *NonceManager) fastForwardLocked(n uint64) {
	if n > m.next {
		m.next = n
	}
	i := 0
	for i < len(m.free) && m.free[i] < n {
		i++
	}
	m.free = m.free[i:]
}
