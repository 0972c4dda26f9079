package klay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
)

// ErrOutcomeUnknown is wrapped by a SendError whose transaction may or may
// not have reached the pool (timeout, broken connection).
var ErrOutcomeUnknown = errors.New("send outcome unknown")

// SendError is a send that Account.Send gave up on.
type SendError struct {
	Outcome SendOutcome
	Err     error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send transaction (%s): %v", e.Outcome, e.Err)
}

func (e *SendError) Unwrap() []error {
	if e.Outcome == Unknown {
		return []error{e.Err, ErrOutcomeUnknown}
	}
	return []error{e.Err}
}

// OutcomeOf returns the SendOutcome an error of Send carries (Accepted for
// nil, Rejected for errors that are not SendErrors).
func OutcomeOf(err error) SendOutcome {
	if err == nil {
		return Accepted
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Outcome
	}
	return Rejected
}

// Bounds of Account.Send's retries.
const (
	sendPatience    = 20 * time.Second
	maxNonceRetries = 64
)

// Builder returns the signed transaction to send with nonce.
type Builder func(nonce uint64) (*types.Transaction, error)

// Send numbers, signs and sends one transaction of a. It retries with a new
// nonce while the nonce is taken (by another worker sharing the key, at
// most maxNonceRetries times), and with backoff while the pool is full or
// the node does not answer the nonce query, for sendPatience at most: then
// it returns the last error, so that a caller such as the sweep is never
// held for as long as its context allows.
//
// It returns the transaction the node accepted. When the outcome is unknown
// it returns the transaction too, with an error wrapping ErrOutcomeUnknown:
// watch its hash, it may still be mined. Underpriced and other rejections
// return a *SendError and no transaction.
func (a *Account) Send(ctx context.Context, c *Client, build Builder) (*types.Transaction, error) {
	return a.send(ctx, c, build, sendPatience)
}

func (a *Account) send(ctx context.Context, c *Client, build Builder, patience time.Duration) (*types.Transaction, error) {
	backoff := 50 * time.Millisecond
	giveUp := time.Now().Add(patience)
	for taken := 0; ; {
		nonce, err := a.Nonce.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if time.Now().After(giveUp) {
				return nil, &SendError{Outcome: Rejected, Err: fmt.Errorf("nonce of %s: %w", a.Address.Hex(), err)}
			}
			if err := sleep(ctx, backoff); err != nil {
				return nil, err
			}
			backoff = nextBackoff(backoff)
			continue
		}
		tx, err := build(nonce)
		if err != nil {
			a.Nonce.Release(nonce)
			return nil, err
		}
		_, sendErr := c.SendTransaction(ctx, tx)
		switch out := a.Nonce.Done(nonce, sendErr); out {
		case Accepted, Known:
			return tx, nil
		case NonceTaken:
			if taken++; taken > maxNonceRetries {
				return nil, &SendError{Outcome: out, Err: sendErr}
			}
			// Another sender got there first; a little jitter lets
			// concurrent workers spread out.
			if err := sleep(ctx, time.Duration(rand.Int64N(int64(20*time.Millisecond)))); err != nil {
				return nil, err
			}
		case PoolFull:
			if time.Now().After(giveUp) {
				return nil, &SendError{Outcome: out, Err: sendErr}
			}
			if err := sleep(ctx, backoff); err != nil {
				return nil, err
			}
			backoff = nextBackoff(backoff)
		case Unknown:
			if ctx.Err() != nil {
				return tx, &SendError{Outcome: out, Err: ctx.Err()}
			}
			// Send the very same bytes again: the node either has them
			// ("known transaction") or takes them now. This fills the
			// nonce instead of leaving a gap that stalls later ones.
			switch out, err := resend(ctx, c, tx); out {
			case Accepted, Known:
				return tx, nil
			case NonceTaken:
				a.Nonce.Invalidate()
				continue
			case Unknown:
				return tx, &SendError{Outcome: out, Err: err}
			default:
				// Not in the pool and refused now: the nonce is free.
				a.Nonce.Invalidate()
				return nil, &SendError{Outcome: out, Err: err}
			}
		default:
			return nil, &SendError{Outcome: out, Err: sendErr}
		}
	}
}

// resend retries an identical signed transaction whose first send got no
// answer. A "nonce too low" answer may mean the first copy was mined: the
// receipt tells.
func resend(ctx context.Context, c *Client, tx *types.Transaction) (SendOutcome, error) {
	backoff := 200 * time.Millisecond
	var err error
	for range 3 {
		if e := sleep(ctx, backoff); e != nil {
			return Unknown, e
		}
		backoff = nextBackoff(backoff)
		_, err = c.SendTransaction(ctx, tx)
		out := ClassifySendError(err)
		if out == NonceTaken {
			if _, rerr := c.TransactionReceipt(ctx, tx.Hash()); rerr == nil {
				return Known, nil
			}
		}
		if out != Unknown && out != PoolFull {
			return out, err
		}
	}
	return Unknown, err
}

func nextBackoff(d time.Duration) time.Duration {
	return min(2*d, 2*time.Second)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
