package tc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// Methods of the stats rows of transaction test cases. An iteration's row
// ("tx") is decided by the chain: success when a block holds the
// transaction with status 1. The send and e2e rows stand aside.
const (
	methodTx   = "tx"   // the iteration: included with status 1
	methodSend = "send" // the node accepted the transaction (aside)
	methodE2E  = "e2e"  // the transfer was handled on the other chain (aside)
)

// errStopped names a call cut short because the run stopped. It is a
// context.Canceled to errors.Is, so sinks that sort failures by reason see
// a cancellation.
var errStopped error = stopError{}

type stopError struct{}

func (stopError) Error() string        { return "cancelled at stop" }
func (stopError) Is(target error) bool { return target == context.Canceled }

// stopped returns errStopped for an error caused by ctx's cancellation.
func stopped(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return errStopped
	}
	return err
}

// txNames are the rows of one transaction case (per direction for a
// bridge), and the labels of their results.
type txNames struct {
	iter, send, unconfirmed string
	kase, chain, dir        string
}

// namesOf names the rows of "<case>" or "<case> <direction>".
func namesOf(name string) txNames {
	kase, _, _ := strings.Cut(name, " ")
	return txNames{iter: name, send: name + " send", unconfirmed: name + " unconfirmed", kase: kase}
}

// on sets the chain ("main", "service") and a bridge row's direction.
func (n txNames) on(chain, dir string) txNames {
	n.chain, n.dir = chain, dir
	return n
}

// label gives r the rows' labels.
func (n txNames) label(r stats.Result) stats.Result {
	r.Case, r.Chain, r.Direction = n.kase, n.chain, n.dir
	return r
}

// reportTx records an iteration that sent tk (nil if the send failed with
// err): the send at once as an aside row, the iteration when the block
// verdict arrives. included, if set, runs after a successful inclusion.
func reportTx(ctx context.Context, it runner.Iteration, out stats.Sink, n txNames, tk *klay.Ticket, err error, included func(klay.Inclusion)) {
	err = stopped(ctx, err)
	send := n.label(it.Result(methodSend, n.send, err))
	send.Aside = true
	out.Record(send)
	if tk == nil {
		out.Record(n.label(it.Result(methodTx, n.iter, err)))
		return
	}
	// With an unknown outcome the chain still decides: the node may hold it.
	tk.Then(func(inc klay.Inclusion) {
		if errors.Is(inc.Err, klay.ErrUnconfirmed) {
			// The run ended first: no verdict, so not an iteration's
			// success or failure; an aside row shows how many.
			r := n.label(it.Result(methodTx, n.unconfirmed, inc.Err))
			r.Aside = true
			out.Record(r)
			return
		}
		end := inc.Time
		if inc.Err != nil || end.IsZero() {
			end = time.Now()
		}
		ierr := inclusionError(inc)
		out.Record(n.label(it.ResultAt(end, methodTx, n.iter, ierr)))
		if ierr == nil && included != nil {
			included(inc)
		}
	})
}

// inclusionError is nil for a transaction a block holds with status 1.
func inclusionError(inc klay.Inclusion) error {
	switch {
	case inc.Err != nil:
		return inc.Err
	case inc.Status != 1:
		return fmt.Errorf("%w (txError %#x)", klay.ErrReverted, inc.TxError)
	}
	return nil
}

// wait blocks until tk's verdict, bounded by ctx, and returns its error.
func wait(ctx context.Context, tk *klay.Ticket) (klay.Inclusion, error) {
	ch := make(chan klay.Inclusion, 1)
	tk.Then(func(inc klay.Inclusion) { ch <- inc })
	select {
	case inc := <-ch:
		return inc, inclusionError(inc)
	case <-ctx.Done():
		return klay.Inclusion{}, fmt.Errorf("waiting for %s: %w", tk.Tx.Hash().Hex(), ctx.Err())
	}
}
