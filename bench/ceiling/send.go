package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
)

// rawSender is what the send loop needs of a node; *klay.Client is one.
type rawSender interface {
	SendRawTransaction(ctx context.Context, raw []byte) (common.Hash, error)
}

// Backoff after "txpool is full" or an unanswered send: short, because the
// pool frees thousands of slots every block, and bounded, so that a sender
// never sleeps through much of a block.
const (
	minBackoff = 5 * time.Millisecond
	maxBackoff = 100 * time.Millisecond
)

// callTimeout bounds one klay_sendRawTransaction; the run's deadline bounds
// it further.
const callTimeout = 10 * time.Second

// sendStats counts what the node answered. Safe for concurrent use.
type sendStats struct {
	start     time.Time
	accepted  atomic.Int64 // taken by the node (including "known transaction")
	nonceUsed atomic.Int64 // "nonce too low" and the like: a retry of a send that had landed
	poolFull  atomic.Int64 // "txpool is full" answers (each one retried)
	noAnswer  atomic.Int64 // timeouts and broken connections (each one retried)
	rejected  atomic.Int64 // any other answer: the account's remaining transfers are dropped
	abandoned atomic.Int64 // accounts dropped after a rejection
	perSecond []atomic.Int64
	finished  atomic.Int64 // ns after start when the last transfer was taken; 0: not all were

	mu       sync.Mutex
	firstErr map[string]string // outcome → first message seen, one line
}

func newSendStats(start time.Time, d time.Duration) *sendStats {
	return &sendStats{start: start, perSecond: make([]atomic.Int64, int(d/time.Second)+1), firstErr: map[string]string{}}
}

func (s *sendStats) took(now time.Time) {
	s.accepted.Add(1)
	if sec := int(now.Sub(s.start) / time.Second); sec >= 0 && sec < len(s.perSecond) {
		s.perSecond[sec].Add(1)
	}
}

func (s *sendStats) noteErr(o klay.SendOutcome, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.firstErr[o.String()]; !ok {
		s.firstErr[o.String()] = oneLine(err.Error())
	}
}

// errStop is returned by sendOne when the run is over.
var errStop = errors.New("run over")

// sendOne sends raw until the node takes it, retrying the very same bytes
// after "txpool is full" or no answer, until ctx ends. It returns false when
// the node turned the transfer down for good.
func sendOne(ctx context.Context, c rawSender, raw []byte, st *sendStats) (bool, error) {
	backoff := minBackoff
	for {
		if ctx.Err() != nil {
			return false, errStop
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		_, err := c.SendRawTransaction(cctx, raw)
		cancel()
		o := klay.ClassifySendError(err)
		switch o {
		case klay.Accepted, klay.Known:
			st.took(time.Now())
			return true, nil
		case klay.NonceTaken:
			// The nonce is used: an earlier try of these bytes landed after
			// all (its answer was lost), or someone else used the account.
			st.nonceUsed.Add(1)
			st.noteErr(o, err)
			return true, nil
		case klay.PoolFull, klay.Unknown:
			if ctx.Err() != nil {
				return false, errStop
			}
			if o == klay.PoolFull {
				st.poolFull.Add(1)
			} else {
				st.noAnswer.Add(1)
				st.noteErr(o, err)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false, errStop
			}
			backoff = min(2*backoff, maxBackoff)
		default: // underpriced or rejected: the bytes will never be taken
			st.rejected.Add(1)
			st.noteErr(o, err)
			return false, nil
		}
	}
}

// sendAll sends the plan with `concurrency` senders until every transfer is
// taken or ctx ends. Sender s owns accounts s, s+concurrency, …, and goes
// round the accounts it owns sending one transfer each, so that every
// account has only a few transfers in the pool at once (the pool evicts the
// newest transfers of accounts holding more than 16 when it is full, which
// would leave nonce gaps) and each account's transfers go in nonce order.
func sendAll(ctx context.Context, c rawSender, p plan, concurrency int, st *sendStats) {
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(min(concurrency, len(p))))
	for s := range min(concurrency, len(p)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var owned []int
			for i := s; i < len(p); i += concurrency {
				owned = append(owned, i)
			}
			if sendOwned(ctx, c, p, owned, st) && left.Add(-1) == 0 {
				st.finished.Store(int64(time.Since(st.start)))
			}
		}()
	}
	wg.Wait()
}

// sendOwned is one sender's loop. It returns true when it sent everything.
func sendOwned(ctx context.Context, c rawSender, p plan, owned []int, st *sendStats) bool {
	alive := make([]bool, len(owned))
	for k := range alive {
		alive[k] = true
	}
	for j := 0; ; j++ {
		more := false
		for k, i := range owned {
			if !alive[k] || j >= len(p[i]) {
				continue
			}
			more = true
			ok, err := sendOne(ctx, c, p[i][j].raw, st)
			if err != nil {
				return false
			}
			if !ok {
				// Later nonces would only wait in the pool behind the gap.
				alive[k] = false
				st.abandoned.Add(1)
			}
		}
		if !more {
			return true
		}
	}
}
