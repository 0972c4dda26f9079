package klay

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
	"github.com/kaiachain/kaia/crypto/sha3"
)

// Tracker follows sent transactions to their blocks; *Scanner implements it.
type Tracker interface {
	Track(h common.Hash, done func(Inclusion))
	Untrack(h common.Hash) bool
	Head() uint64
}

// SeenTracker is a Tracker that also tells, before the verdict, that a
// block holds a transaction (the Scanner does, ahead of the receipts): the
// nonce is spent then, and the lane's slot free. Before it fails a
// transaction as not included, it asks live whether the sender can still
// see it included.
type SeenTracker interface {
	Tracker
	TrackLive(h common.Hash, o TrackHooks, done func(Inclusion))
}

// track tracks f with the lanes' tracker.
func (l *Lane) track(f *flight) {
	done := func(inc Inclusion) { l.resolved(f, inc) }
	if st, ok := l.ls.cfg.Tracker.(SeenTracker); ok {
		// A creation's verdict needs the node's receipt, for the
		// contract's address; a lane's other callers read no more of it
		// than a receipt proven from the block's header holds.
		st.TrackLive(f.hash, TrackHooks{Seen: func() { l.seen(f) }, Live: func() bool { return l.live(f) },
			Proven: f.ticket.Tx.To() != nil && !f.ticket.Tx.Type().IsContractDeploy()}, done)
		return
	}
	l.ls.cfg.Tracker.Track(f.hash, done)
}

// Errors of a lane's transactions.
var (
	// ErrReplaced: another transaction took the nonce (a gap filler, after
	// the node kept refusing this one).
	ErrReplaced = errors.New("replaced: its nonce went to another transaction")
	// ErrLaneFull: the account has MaxPending transactions awaiting
	// inclusion and none was included before the caller gave up.
	ErrLaneFull = errors.New("account has too many transactions awaiting inclusion")
	// ErrOutOfFunds: the account cannot pay for what it has in flight and
	// this transaction. Sent anyway, the node would keep it pending, and
	// unexecutable transactions fill its pool until nothing gets in.
	ErrOutOfFunds = errors.New("test account out of funds; raise -charge (under load the base fee climbs)")
	// ErrUnconfirmed: the run ended (a Locust quit gives 0.5 s) before a
	// block held the transaction; the chain may still include it.
	ErrUnconfirmed = errors.New("no block before the stop ended")
)

// LanesConfig configures the nonce engine of one chain.
type LanesConfig struct {
	Client   *Client
	Tracker  Tracker
	Accounts []*Account
	// MaxPending bounds each account's transactions sent but not yet
	// included (default 64).
	MaxPending int
	// StuckAfter is how many blocks an account's lowest transaction may
	// wait before it is sent again (default 3).
	StuckAfter uint64
	// CoolDown is how long an account sends nothing after "txpool is full"
	// (default 250 ms).
	CoolDown time.Duration
	// Fill, if set, signs a transaction with the given nonce that replaces
	// one the node keeps refusing, so that the account's later
	// transactions can execute (for example a 0-value transfer to itself).
	Fill func(a *Account, nonce uint64) (*types.Transaction, error)
	Log  *slog.Logger
}

// Validate returns every problem of the configuration.
func (c LanesConfig) Validate() []error {
	var errs []error
	if c.Client == nil {
		errs = append(errs, errors.New("lanes: no client"))
	}
	if c.Tracker == nil {
		errs = append(errs, errors.New("lanes: no tracker"))
	}
	if len(c.Accounts) == 0 {
		errs = append(errs, errors.New("lanes: no accounts"))
	}
	if c.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("lanes: max pending %d: want 1 or more", c.MaxPending))
	}
	return errs
}

// Lanes is the nonce engine of one chain: each account is a lane that
// sends one transaction at a time (so a nonce the node refuses is the next
// send's nonce, and a refusal never leaves a gap) with at most MaxPending
// awaiting inclusion. The tracker tells each lane what was included; a
// lane whose lowest transaction stalls sends those very bytes again, and
// fills a nonce that was lost. No wait in here outlives its context.
type Lanes struct {
	cfg    LanesConfig
	lanes  []*Lane
	byAddr map[common.Address]*Lane

	wakeMu sync.Mutex
	wake   chan struct{} // closed and replaced whenever a lane frees a slot
	// waiting counts the senders in waitRoom: with none, a freed slot
	// wakes nobody and costs no new channel (at saturation, thousands of
	// inclusions a block).
	waiting atomic.Int32

	// held counts the stalled transactions sent again a third time that
	// the node took or said it had; OnBlock logs them in one line.
	heldMu sync.Mutex
	held   int
	heldEg string
}

// NewLanes returns the lanes of cfg.Accounts.
func NewLanes(cfg LanesConfig) (*Lanes, error) {
	if errs := cfg.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.MaxPending == 0 {
		cfg.MaxPending = 64
	}
	if cfg.StuckAfter == 0 {
		cfg.StuckAfter = 3
	}
	if cfg.CoolDown == 0 {
		cfg.CoolDown = 250 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ls := &Lanes{cfg: cfg, byAddr: map[common.Address]*Lane{}, wake: make(chan struct{})}
	for _, a := range cfg.Accounts {
		l := &Lane{ls: ls, acct: a, flights: map[uint64]*flight{}}
		ls.lanes = append(ls.lanes, l)
		ls.byAddr[a.Address] = l
	}
	return ls, nil
}

// Lane returns the lane of a, nil if a is not one of the accounts.
func (ls *Lanes) Lane(a common.Address) *Lane { return ls.byAddr[a] }

// Pick returns the account of a lane that can send now (not sending, not
// full, not cooling down, not stalled), starting at a random lane. When
// none can, it returns the lane the caller is likeliest to wait least on:
// one nobody is sending on, then one whose lowest transaction is not
// stalled. A stalled lane waits for a resend or a filler, maybe for the
// rest of the run. Handed out like any other, it kept every user that drew
// it: at saturation no lane is free for a moment after each block, and in
// one run on a devnet 191 of 200 users ended up waiting on lanes whose
// lowest transaction no block took for the rest of the run.
func (ls *Lanes) Pick() *Account {
	n := len(ls.lanes)
	start := rand.IntN(n)
	now := time.Now()
	best, bestRank := ls.lanes[start], pickRanks
	for i := range n {
		l := ls.lanes[(start+i)%n]
		r := l.rank(now)
		if r == pickReady {
			return l.acct
		}
		if r < bestRank {
			best, bestRank = l, r
		}
	}
	return best.acct
}

// Pick's ranks of a lane, best first.
const (
	pickReady   = iota // can send now
	pickIdle           // nobody sending on it, not stalled: full or cooling down
	pickBusy           // another user sends on it, not stalled
	pickStalled        // its lowest transaction is stalled
	pickRanks
)

func (l *Lane) rank(now time.Time) int {
	busy := l.busy.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.stalled:
		return pickStalled
	case busy:
		return pickBusy
	case len(l.flights) < l.ls.cfg.MaxPending && !now.Before(l.coolUntil):
		return pickReady
	}
	return pickIdle
}

// Pending returns the transactions of all lanes awaiting inclusion.
func (ls *Lanes) Pending() int {
	n := 0
	for _, l := range ls.lanes {
		l.mu.Lock()
		n += len(l.flights)
		l.mu.Unlock()
	}
	return n
}

func (ls *Lanes) wakeCh() <-chan struct{} {
	ls.wakeMu.Lock()
	defer ls.wakeMu.Unlock()
	return ls.wake
}

func (ls *Lanes) broadcast() {
	// A sender that starts waiting after this load reads the lane's
	// state after the change that led here (it takes l.mu after counting
	// itself), so it cannot miss it.
	if ls.waiting.Load() == 0 {
		return
	}
	ls.wakeMu.Lock()
	close(ls.wake)
	ls.wake = make(chan struct{})
	ls.wakeMu.Unlock()
}

// OnBlock lets every lane look at its lowest transaction once a block is
// scanned: one that waits StuckAfter blocks is sent again, a lost nonce is
// filled. The work runs in the background, bounded by ctx.
func (ls *Lanes) OnBlock(ctx context.Context, head uint64) {
	ls.heldMu.Lock()
	held, eg := ls.held, ls.heldEg
	ls.held, ls.heldEg = 0, ""
	ls.heldMu.Unlock()
	if held > 0 {
		// A Kaia EN forwards a transaction to its CN once, when it takes
		// it. One the CN did not keep stays in the EN, which answers
		// "known" to the very bytes and forwards them again only in its
		// periodic resend (every 4 s, at most 1,000 transactions).
		ls.cfg.Log.Info("stalled transactions sent again three times: the node has them, no block holds them yet",
			"count", held, "e.g.", eg)
	}
	for _, l := range ls.lanes {
		l.check(ctx, head)
	}
}

// noteHeld counts a stalled transaction that a third resend found in the
// node (or got no answer for).
func (ls *Lanes) noteHeld(eg func() string) {
	ls.heldMu.Lock()
	defer ls.heldMu.Unlock()
	if ls.held == 0 {
		ls.heldEg = eg()
	}
	ls.held++
}

// Lane is one account's sequence of nonces.
type Lane struct {
	ls      *Lanes
	acct    *Account
	sending sync.Mutex  // held for a whole send
	busy    atomic.Bool // sending is held (for Pick, without locking)

	mu        sync.Mutex
	synced    bool
	next      uint64 // nonce of the next new transaction
	confirmed uint64 // every nonce below is included
	flights   map[uint64]*flight
	coolUntil time.Time
	// funds is what the account can still spend: its balance when read,
	// less the most each transaction sent since may cost (value + gas
	// limit × gas price); nil until read.
	funds  *big.Int
	fixing bool // a resend or fill runs
	// stalled: at the last block, the lowest transaction in flight had
	// waited StuckAfter blocks or more, or had been sent again. Pick
	// avoids such a lane.
	stalled bool
}

// flight is a transaction sent and not yet included.
type flight struct {
	nonce   uint64
	raw     []byte
	hash    common.Hash
	head    uint64 // the head when it was (re)sent
	resends int
	ticket  *Ticket
	cost    *big.Int // the most it may cost: value + gas limit × price
	// settled is set (under the lane's mu) once the tracker gave its
	// verdict: a block can be scanned before the send's answer arrives,
	// and Send must then not file the flight as awaiting inclusion.
	settled bool
}

// Ticket is a sent transaction whose block is awaited.
type Ticket struct {
	Tx *types.Transaction

	mu   sync.Mutex
	done bool
	inc  Inclusion
	cbs  []func(Inclusion)
}

// Then calls cb once with the transaction's verdict: at once if it is
// known, else from the tracker's goroutine (cb must not block long).
func (t *Ticket) Then(cb func(Inclusion)) {
	t.mu.Lock()
	if !t.done {
		t.cbs = append(t.cbs, cb)
		t.mu.Unlock()
		return
	}
	inc := t.inc
	t.mu.Unlock()
	cb(inc)
}

func (t *Ticket) resolve(inc Inclusion) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done, t.inc = true, inc
	cbs := t.cbs
	t.cbs = nil
	t.mu.Unlock()
	for _, cb := range cbs {
		cb(inc)
	}
}

// Account returns the lane's account.
func (l *Lane) Account() *Account { return l.acct }

// Send numbers the transaction build makes, sends it, and returns its
// ticket. It waits (bounded by ctx) while the lane is full or cooling down.
// A refused transaction returns a *SendError and no ticket; its nonce is
// the next send's. When the outcome is unknown (no answer) it returns the
// ticket too, with an error wrapping ErrOutcomeUnknown: the tracker tells
// whether the node took it.
func (l *Lane) Send(ctx context.Context, build Builder) (*Ticket, error) {
	l.sending.Lock()
	l.busy.Store(true)
	defer func() {
		l.busy.Store(false)
		l.sending.Unlock()
	}()
	if err := l.waitRoom(ctx); err != nil {
		return nil, err
	}
	c := l.ls.cfg.Client
	l.mu.Lock()
	synced, nonce := l.synced, l.next
	l.mu.Unlock()
	if !synced {
		p, err := c.PendingNonceAt(ctx, l.acct.Address)
		if err != nil {
			return nil, &SendError{Outcome: Rejected, Err: fmt.Errorf("nonce of %s: %w", l.acct.Address.Hex(), err)}
		}
		l.mu.Lock()
		l.synced, l.next, l.confirmed, nonce = true, p, p, p
		l.mu.Unlock()
	}
	tx, err := build(nonce)
	if err != nil {
		return nil, err
	}
	cost := tx.Cost()
	if err := l.reserve(ctx, cost); err != nil {
		return nil, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	f := &flight{nonce: nonce, raw: raw, hash: rawHash(tx, raw), head: l.ls.cfg.Tracker.Head(), ticket: &Ticket{Tx: tx}, cost: cost}
	// Track before sending: the block could be scanned before the answer
	// to the send arrives.
	l.track(f)
	_, sendErr := c.SendRawTransaction(ctx, raw)
	out := ClassifySendError(sendErr)
	switch out {
	case Accepted, Known, Unknown:
		l.mu.Lock()
		if !f.settled {
			l.flights[nonce] = f
		}
		l.next = nonce + 1
		l.mu.Unlock()
		if out == Unknown {
			return f.ticket, &SendError{Outcome: out, Err: sendErr}
		}
		return f.ticket, nil
	}
	l.ls.cfg.Tracker.Untrack(f.hash)
	l.refund(cost)
	switch out {
	case PoolFull:
		l.mu.Lock()
		l.coolUntil = time.Now().Add(l.ls.cfg.CoolDown)
		l.mu.Unlock()
	case NonceTaken:
		l.resync(ctx)
	default:
		if isNonceTooHigh(sendErr) {
			l.resync(ctx)
		}
	}
	return nil, &SendError{Outcome: out, Err: sendErr}
}

// reserve takes cost from the lane's funds, reading the balance when it
// is unknown, or when it would not cover cost while nothing is in flight
// (then the balance is exact: fees below their upper bound come back).
func (l *Lane) reserve(ctx context.Context, cost *big.Int) error {
	l.mu.Lock()
	read := l.funds == nil || (l.funds.Cmp(cost) < 0 && len(l.flights) == 0)
	l.mu.Unlock()
	if read {
		bal, err := l.ls.cfg.Client.BalanceAt(ctx, l.acct.Address, nil)
		if err != nil {
			return &SendError{Outcome: Rejected, Err: fmt.Errorf("balance of %s: %w", l.acct.Address.Hex(), err)}
		}
		l.mu.Lock()
		l.funds = bal
		for _, f := range l.flights {
			l.funds.Sub(l.funds, f.cost)
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.funds.Cmp(cost) < 0 {
		return &SendError{Outcome: Rejected, Err: ErrOutOfFunds}
	}
	l.funds.Sub(l.funds, cost)
	return nil
}

// refund gives back what reserve took for a transaction the node refused.
func (l *Lane) refund(cost *big.Int) {
	l.mu.Lock()
	if l.funds != nil {
		l.funds.Add(l.funds, cost)
	}
	l.mu.Unlock()
}

// waitRoom waits until the lane has room and is not cooling down.
func (l *Lane) waitRoom(ctx context.Context) error {
	l.ls.waiting.Add(1)
	defer l.ls.waiting.Add(-1)
	for {
		wake := l.ls.wakeCh()
		l.mu.Lock()
		full := len(l.flights) >= l.ls.cfg.MaxPending
		cool := time.Until(l.coolUntil)
		l.mu.Unlock()
		if !full && cool <= 0 {
			return nil
		}
		var timer <-chan time.Time
		if !full {
			t := time.NewTimer(cool)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-ctx.Done():
			if full {
				return fmt.Errorf("%w: %w", ErrLaneFull, ctx.Err())
			}
			return ctx.Err()
		case <-wake:
		case <-timer:
		}
	}
}

// resync reloads the next nonce from the node's pending count, never below
// a transaction of ours awaiting inclusion.
func (l *Lane) resync(ctx context.Context) {
	p, err := l.ls.cfg.Client.PendingNonceAt(ctx, l.acct.Address)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	next := p
	for n := range l.flights {
		next = max(next, n+1)
	}
	l.next = next
}

// resolved takes the tracker's verdict on f.
func (l *Lane) resolved(f *flight, inc Inclusion) {
	if inc.Err == nil {
		l.seen(f) // a block holds it, reverted or not
	} else {
		l.mu.Lock()
		l.settleLocked(f)
		l.mu.Unlock()
		l.ls.broadcast()
	}
	f.ticket.resolve(inc)
}

// seen takes f out of flight: a block holds it, so its nonce is spent and
// its slot free, whatever its receipt will say. Lower nonces still in
// flight were replaced (a block holds an account's transactions in nonce
// order, so ours among them were seen first). Seeing f again does nothing.
func (l *Lane) seen(f *flight) {
	l.mu.Lock()
	l.settleLocked(f)
	gone := l.confirm(f.nonce + 1)
	l.mu.Unlock()
	l.replaced(gone)
	l.ls.broadcast()
}

// live tells whether f can still be included: it is still the lane's
// transaction for its nonce (settling takes it out of flights), and no
// block has spent that nonce. Until then the lane sends its lowest stalled
// transaction again every StuckAfter blocks, so a block may yet take f,
// wherever its copies are.
func (l *Lane) live(f *flight) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flights[f.nonce] == f && f.nonce >= l.confirmed
}

// settleLocked marks f as having its verdict (or its block) and takes it
// out of flight. The caller holds mu.
func (l *Lane) settleLocked(f *flight) {
	f.settled = true
	if l.flights[f.nonce] == f {
		delete(l.flights, f.nonce)
	}
}

// confirm moves confirmed up to n (every nonce below is included) and
// takes the flights it passed out of the lane: they can no longer be
// included. The caller holds mu and hands the result to replaced after
// unlocking it.
func (l *Lane) confirm(n uint64) []*flight {
	if n <= l.confirmed {
		return nil
	}
	from := l.confirmed
	l.confirmed = n
	l.stalled = false // its lowest transaction is gone; the next block tells
	var gone []*flight
	// In order, a confirmation passes one nonce: look at the nonces it
	// passed rather than at every transaction in flight (at saturation,
	// thousands of inclusions a block).
	if n-from <= uint64(len(l.flights)) {
		for k := from; k < n; k++ {
			if g, ok := l.flights[k]; ok {
				gone = append(gone, g)
			}
		}
	} else {
		for k, g := range l.flights {
			if k < n {
				gone = append(gone, g)
			}
		}
	}
	for _, g := range gone {
		delete(l.flights, g.nonce)
	}
	return gone
}

// replaced gives each of gone that is still awaited ErrReplaced.
func (l *Lane) replaced(gone []*flight) {
	for _, g := range gone {
		if l.ls.cfg.Tracker.Untrack(g.hash) {
			g.ticket.resolve(Inclusion{Hash: g.hash, Err: ErrReplaced})
		}
	}
}

// check runs once per block: it sends a stalled lowest transaction again
// or fills a lost nonce.
func (l *Lane) check(ctx context.Context, head uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var low *flight
	for _, f := range l.flights {
		if low == nil || f.nonce < low.nonce {
			low = f
		}
	}
	due := low != nil && head >= low.head+l.ls.cfg.StuckAfter
	l.stalled = due || (low != nil && low.resends > 0)
	if l.fixing || !due {
		return
	}
	l.fixing = true
	gap := low.nonce > l.confirmed
	nonce := l.confirmed
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if gap {
			l.fill(ctx, nonce, head)
		} else {
			l.resend(ctx, low, head)
		}
		l.mu.Lock()
		l.fixing = false
		l.mu.Unlock()
	}()
}

// resend sends f's very bytes again: the node either has them or takes
// them now. A node that keeps refusing them gets a replacement instead.
func (l *Lane) resend(ctx context.Context, f *flight, head uint64) {
	_, err := l.ls.cfg.Client.SendRawTransaction(ctx, f.raw)
	out := ClassifySendError(err)
	l.mu.Lock()
	f.head, f.resends = head, f.resends+1
	tries := f.resends
	l.mu.Unlock()
	switch out {
	case Accepted, Known, Unknown:
		if tries == 3 {
			l.ls.noteHeld(func() string {
				return fmt.Sprintf("account %s nonce %d: %s", l.acct.Address.Hex(), f.nonce, oneLineErr(out, err))
			})
		}
		return
	case NonceTaken:
		// Mined, or another transaction holds the nonce: the mined count
		// tells which (a mined f is reported by the tracker).
		if m, err := l.ls.cfg.Client.NonceAt(ctx, l.acct.Address, nil); err == nil && m > f.nonce && tries >= 2 {
			l.mu.Lock()
			gone := l.confirm(m)
			if l.flights[f.nonce] == f {
				delete(l.flights, f.nonce)
				gone = append(gone, f)
			}
			l.mu.Unlock()
			l.replaced(gone)
			l.ls.broadcast()
		}
		return
	}
	if tries >= 3 {
		l.ls.cfg.Log.Warn("the node keeps refusing a transaction; replacing it", "account", l.acct.Address.Hex(), "nonce", f.nonce, "err", err)
		l.fill(ctx, f.nonce, head)
	}
}

// fill sends a replacement with the given nonce, so that the account's
// later transactions can execute.
func (l *Lane) fill(ctx context.Context, nonce, head uint64) {
	if l.ls.cfg.Fill == nil {
		return
	}
	tx, err := l.ls.cfg.Fill(l.acct, nonce)
	if err != nil {
		return
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return
	}
	f := &flight{nonce: nonce, raw: raw, hash: rawHash(tx, raw), head: head, ticket: &Ticket{Tx: tx}, cost: tx.Cost()}
	l.track(f)
	_, err = l.ls.cfg.Client.SendRawTransaction(ctx, raw)
	switch ClassifySendError(err) {
	case Accepted, Known, Unknown:
		l.mu.Lock()
		old := l.flights[nonce]
		if f.settled {
			delete(l.flights, nonce) // a block already holds the filler
		} else {
			l.flights[nonce] = f
		}
		l.mu.Unlock()
		// The node took another transaction with this nonce, so the one
		// it kept refusing is not in its pool: it is replaced.
		if old != nil && old != f && l.ls.cfg.Tracker.Untrack(old.hash) {
			old.ticket.resolve(Inclusion{Hash: old.hash, Err: ErrReplaced})
		}
		l.ls.cfg.Log.Info("filled a nonce", "account", l.acct.Address.Hex(), "nonce", nonce)
	case NonceTaken:
		// The gap was not one: a transaction whose verdict the lane gave
		// up on (a stop's unconfirmed, say) was mined after all. The mined
		// count moves confirmed past it, so the lane stops filling.
		l.ls.cfg.Tracker.Untrack(f.hash)
		if m, err := l.ls.cfg.Client.NonceAt(ctx, l.acct.Address, nil); err == nil {
			l.mu.Lock()
			gone := l.confirm(m)
			l.mu.Unlock()
			l.replaced(gone)
			l.ls.broadcast()
		}
	default:
		l.ls.cfg.Tracker.Untrack(f.hash)
	}
}

func isNonceTooHigh(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "nonce too high")
}

// SelfTransfer returns a LanesConfig.Fill that signs a 0-value transfer
// from the account to itself at the node's gas price.
func SelfTransfer(chainID *big.Int, price *GasPricer) func(*Account, uint64) (*types.Transaction, error) {
	return func(a *Account, nonce uint64) (*types.Transaction, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		gp, err := price.Get(ctx)
		if err != nil {
			return nil, err
		}
		return a.SignTransfer(chainID, nonce, a.Address, new(big.Int), gp)
	}
}

// rawHash is tx.Hash() from the encoding already made for the send, rather
// than a second RLP encoding: the keccak of the raw bytes, after Kaia's
// one-byte envelope for Ethereum's typed transactions. For a deployment's
// kilobytes that second encoding and hash were a visible share of an
// iteration's CPU. lane_test checks it against tx.Hash() for every kind.
func rawHash(tx *types.Transaction, raw []byte) common.Hash {
	if tx.Type().IsEthTypedTransaction() && len(raw) > 0 && types.TxType(raw[0]) == types.EthereumTxTypeEnvelope {
		raw = raw[1:]
	}
	return keccak(raw)
}

// keccakState is Kaia's Keccak-256, which can be read without Sum's copy.
type keccakState interface {
	hash.Hash
	Read([]byte) (int, error)
}

// keccaks reuses hashers: crypto.Keccak256Hash allocates a state and a
// copy of it for every hash, which the send path paid once per iteration.
var keccaks = sync.Pool{New: func() any { return sha3.NewKeccak256() }}

// keccak is crypto.Keccak256Hash(data) with a reused hasher.
func keccak(data []byte) (h common.Hash) {
	k, ok := keccaks.Get().(keccakState)
	if !ok {
		return crypto.Keccak256Hash(data)
	}
	k.Reset()
	_, _ = k.Write(data)
	_, _ = k.Read(h[:])
	keccaks.Put(k)
	return h
}

// oneLineErr is how a resend's answer reads in a log line.
func oneLineErr(out SendOutcome, err error) string {
	if err == nil {
		return out.String()
	}
	return out.String() + " (" + err.Error() + ")"
}
