package klay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/common/hexutil"
	"github.com/kaiachain/kaia/networks/rpc"
)

// Inclusion is the verdict on one tracked transaction.
type Inclusion struct {
	Hash  common.Hash
	Block uint64
	// Time is the block's time: timestamp (s) + timestampFoS (×10 ms;
	// Kaia's fraction of second).
	Time    time.Time
	Status  uint64 // receipt status: 1 success, 0 reverted
	TxError uint64 // Kaia's txError when Status is 0
	GasUsed uint64
	Receipt *Receipt // the decoded receipt, nil when Err != nil
	// Err is nil when a block holds the transaction (check Status),
	// ErrNotIncluded when none did within the timeout in blocks, and
	// ErrScanStopped when the scanner ended first.
	Err error
}

var (
	// ErrNotIncluded: no block held the transaction within
	// ScannerConfig.Timeout blocks of Track.
	ErrNotIncluded = errors.New("not included")
	// ErrScanStopped: the scanner's Run ended before the verdict.
	ErrScanStopped = errors.New("block scanner stopped")
	// ErrReverted: a block holds the transaction with status 0 (callers
	// wrap it with Kaia's txError).
	ErrReverted = errors.New("reverted")
)

// BlockStats is one scanned block.
type BlockStats struct {
	Number   uint64
	Hash     common.Hash
	Time     time.Time
	Interval time.Duration // since the previous block; 0 for the first one scanned
	Txs      int           // all transactions
	Ours     int           // tracked transactions it held
	GasUsed  uint64
}

// ScannerCounts are the scanner's running totals, for the final report.
type ScannerCounts struct {
	Blocks          uint64 // blocks scanned (rescans included)
	Reorgs          uint64 // parent-hash mismatches seen
	MissingReceipts uint64 // blocks given up on with receipts still missing
	Proven          uint64 // blocks whose receipts their header proved, not asked for
	Included        uint64 // Inclusions reported with Err == nil
	NotIncluded     uint64 // Inclusions reported with ErrNotIncluded
	Extended        uint64 // timeouts extended: the node still held the transaction
	RPCErrors       uint64 // failed block or head fetches
}

// ScannerConfig configures a Scanner. Zero values take the defaults.
type ScannerConfig struct {
	Client *Client // HTTP client (Dial) for blocks and receipts
	// WSURL, when set, is subscribed to (klay newHeads) so that a new
	// block is scanned as soon as it exists rather than up to Poll later.
	// "" or a failure → polling; the subscription is retried later.
	WSURL string
	// Poll is the polling period (default 200 ms), also used while the
	// WebSocket is down and between retries of a block.
	Poll time.Duration
	// Timeout is the number of blocks after Track's head at which a
	// transaction no block held fails with ErrNotIncluded (default 30).
	Timeout uint64
	// OnBlock is called after each block's matches, in block order, from
	// the scanner goroutine; it must not block long. After a reorg the
	// new blocks of the heights rescanned are reported too.
	OnBlock func(BlockStats)
	Log     *slog.Logger

	// CallTimeout bounds each RPC call (default 5 s).
	CallTimeout time.Duration
	// ReorgDepth is how many recent block hashes are kept to detect a
	// reorg and how far back a rescan goes (default 8).
	ReorgDepth int
	// ReceiptTries is how many times a block whose tracked receipts are
	// missing is fetched before it is passed over (default 5).
	ReceiptTries int
	// MaxCatchUp is how many blocks are scanned back to back before the
	// loop looks at its context and triggers again (default 64).
	MaxCatchUp int
}

func (c *ScannerConfig) defaults() {
	if c.Poll <= 0 {
		c.Poll = 200 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 30
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 5 * time.Second
	}
	if c.ReorgDepth <= 0 {
		c.ReorgDepth = 8
	}
	if c.ReceiptTries <= 0 {
		c.ReceiptTries = 5
	}
	if c.MaxCatchUp <= 0 {
		c.MaxCatchUp = 64
	}
}

// tracked is one Track call not resolved yet.
type tracked struct {
	done func(Inclusion)
	// seen, if set, hears of the block that holds the transaction as soon
	// as the block is fetched, before its receipts are read.
	seen func()
	// live, if set, tells whether the transaction can still be included
	// (its sender has not spent its nonce), whatever the node's pool says.
	live func() bool
	// extended counts the timeouts passed while the node still held the
	// transaction in its pool, or live said it could still be included.
	extended int
	// proven: a receipt proven from the block's header will do (see
	// TrackHooks.Proven).
	proven bool
}

// add chains another tracker's seen (if any) and done after t's own; a
// live is kept if t has none.
func (t *tracked) add(o TrackHooks, done func(Inclusion)) {
	prev := t.done
	t.done = func(in Inclusion) { prev(in); done(in) }
	t.proven = t.proven && o.Proven
	if t.live == nil {
		t.live = o.Live
	}
	if o.Seen == nil {
		return
	}
	if prevSeen := t.seen; prevSeen != nil {
		t.seen = func() { prevSeen(); o.Seen() }
	} else {
		t.seen = o.Seen
	}
}

// maxExtensions bounds how many more timeouts a transaction the node still
// holds in its pool is given: at saturation a pooled transaction can wait
// longer than one timeout, and failing it as "not included" would be
// false once a block takes it.
const maxExtensions = 3

// expiry is a tracked transaction's place in the timeout queue.
type expiry struct {
	hash     common.Hash
	t        *tracked
	deadline uint64 // head at which it fails; set by Run for Tracks before the start
}

// blockRef is what is kept of a scanned block: enough to notice that the
// next block does not build on it, and to compute intervals.
type blockRef struct {
	num  uint64
	hash common.Hash
	time time.Time
}

// Scanner follows one chain block by block and tells each tracked
// transaction whether a block held it. One Scanner per chain, matching by
// hash: each block costs one call, plus one for its receipts when it holds
// tracked transactions and its header does not prove their receipts
// (receiptroot.go; at saturation it proves nearly every block). After a
// block whose receipts were needed, the next block's are asked for beside
// it, saving the round trip.
type Scanner struct {
	cfg ScannerConfig
	log *slog.Logger

	mu       sync.Mutex
	tracked  map[common.Hash]*tracked
	queue    []expiry // in Track order, so deadlines never decrease
	qhead    int      // first live entry of queue
	head     uint64   // highest block scanned, its callbacks done
	inflight int      // verdicts taken out of tracked, done not yet called
	started  bool
	stopped  bool
	changed  chan struct{} // closed and replaced when head or Pending change
	counts   ScannerCounts
	runStart bool // Run was called

	// Used by the scanner goroutine only.
	next   uint64         // next block to scan
	recent []blockRef     // last scanned blocks, ascending, at most ReorgDepth
	tries  int            // fetches of block next with receipts missing
	rcpts  receiptsSource // where block receipts come from
	// askReceipts: the last block's receipts could not be proven from its
	// header, so the next block's are asked for beside it, saving a round
	// trip; else only once the block is known to need them.
	askReceipts bool
	rootImpl    int  // the receipts-root derivation that matched last, -1: none yet
	rootMisses  int  // blocks not proven since one was
	down        bool // in an outage (logged once)
	downSince   time.Time
	wake        chan struct{}
	wsHead      atomic.Uint64
	wsUp        atomic.Bool
}

// NewScanner returns a scanner; start it with Run.
func NewScanner(cfg ScannerConfig) *Scanner {
	cfg.defaults()
	return &Scanner{
		cfg:      cfg,
		log:      cfg.Log,
		tracked:  make(map[common.Hash]*tracked),
		changed:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		rootImpl: -1,
	}
}

// Track asks for the verdict on transaction h: done is called exactly once,
// from the scanner goroutine, and must not block long. Track before sending
// (the hash is known once signed), so that a block scanned between the
// send and Track cannot hold it unseen (Untrack it if the send fails); a
// late Track is still caught by a receipt lookup at the timeout. Tracking a hash already tracked adds done
// to the same verdict. After Run has ended, done is called at once with
// ErrScanStopped. Safe for concurrent use.
func (s *Scanner) Track(h common.Hash, done func(Inclusion)) { s.TrackLive(h, TrackHooks{}, done) }

// TrackHooks are what TrackLive adds to Track; each is optional.
type TrackHooks struct {
	// Seen is called once a fetched block holds h, before its receipts
	// are read: a full block's receipts take the node and the scanner a
	// few hundred milliseconds, and a sender can use the spent nonce's
	// slot in that time. Seen may be called again for the same block when
	// its receipts must be fetched once more.
	Seen func()
	// Live is asked when h reaches its timeout with no receipt: while it
	// says h can still be included (its sender knows the nonce is not
	// spent), h gets more time, as one the node holds in its pool does.
	// One node's pool is not the network's: at saturation an EN dropped
	// transactions that its CN still held and put in blocks later, after
	// they had been counted as not included. Live is called from the
	// scanner goroutine and must not block long.
	Live func() bool
	// Proven: the verdict may rest on a receipt the block's header proves
	// (receiptroot.go) instead of the node's. Such a Receipt holds the
	// hash, the block, status 1, the gas used and no logs; not the sender,
	// the recipient, the price or a contract address. A block whose
	// transactions all have Proven set is then not asked for its receipts.
	Proven bool
}

// TrackLive is Track with hooks.
func (s *Scanner) TrackLive(h common.Hash, o TrackHooks, done func(Inclusion)) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		done(Inclusion{Hash: h, Err: ErrScanStopped})
		return
	}
	if t, ok := s.tracked[h]; ok {
		t.add(o, done)
		s.mu.Unlock()
		return
	}
	t := &tracked{done: done, seen: o.Seen, live: o.Live, proven: o.Proven}
	s.tracked[h] = t
	var deadline uint64
	if s.started {
		deadline = s.head + s.cfg.Timeout
	}
	s.queue = append(s.queue, expiry{hash: h, t: t, deadline: deadline})
	s.mu.Unlock()
}

// Untrack forgets h (e.g. replaced by another transaction); its done is not
// called. It returns false when h is not tracked (already resolved).
func (s *Scanner) Untrack(h common.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tracked[h]; !ok {
		return false
	}
	delete(s.tracked, h)
	s.broadcastLocked()
	return true
}

// Head returns the highest block scanned (0 before the first).
func (s *Scanner) Head() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head
}

// Pending returns how many tracked transactions await their verdict: it
// drops only once done has returned, so that Drain's caller sees every
// verdict.
func (s *Scanner) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tracked) + s.inflight
}

// Counts returns the running totals.
func (s *Scanner) Counts() ScannerCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Drain waits until nothing is pending or ctx ends (the drain window before
// a final report) and returns how many were still pending.
func (s *Scanner) Drain(ctx context.Context) int {
	for {
		s.mu.Lock()
		n, ch := len(s.tracked)+s.inflight, s.changed
		s.mu.Unlock()
		if n == 0 {
			return 0
		}
		select {
		case <-ctx.Done():
			return s.Pending()
		case <-ch:
		}
	}
}

// WaitHead waits until a block >= n is scanned. It returns ctx's error when
// ctx ends first and ErrScanStopped when Run has ended.
func (s *Scanner) WaitHead(ctx context.Context, n uint64) error {
	for {
		s.mu.Lock()
		ok, stopped, ch := s.started && s.head >= n, s.stopped, s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		if stopped {
			return ErrScanStopped
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (s *Scanner) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Run scans until ctx ends, then fails everything still tracked with
// ErrScanStopped. Call it once.
func (s *Scanner) Run(ctx context.Context) {
	s.mu.Lock()
	if s.runStart {
		s.mu.Unlock()
		panic("klay: Scanner.Run called twice")
	}
	s.runStart = true
	s.mu.Unlock()

	var wg sync.WaitGroup
	defer func() {
		wg.Wait()
		s.stop()
	}()
	if s.cfg.WSURL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.wsLoop(ctx)
		}()
	}
	// Start at the current head: older blocks cannot hold what is
	// tracked from now on.
	for {
		n, err := s.blockNumber(ctx)
		if err == nil {
			s.up()
			s.begin(n)
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.outage(err)
		if sleep(ctx, s.cfg.Poll) != nil {
			return
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		behind := s.step(ctx)
		switch {
		case behind:
			timer.Reset(0)
		case s.wsUp.Load() && s.tries == 0 && !s.down:
			// New heads arrive over the WebSocket; this slow poll
			// only covers a notification the node dropped.
			timer.Reset(max(10*s.cfg.Poll, 2*time.Second))
		default:
			timer.Reset(s.cfg.Poll)
		}
	}
}

// begin sets the start block and the deadlines of the Tracks made before.
func (s *Scanner) begin(n uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = n
	if n > 0 {
		s.head = n - 1
	}
	for i := s.qhead; i < len(s.queue); i++ {
		s.queue[i].deadline = s.head + s.cfg.Timeout
	}
	s.started = true
	s.broadcastLocked()
}

// Abandon gives every tracked transaction the verdict err now and forgets
// it; the scanner goes on. A Locust worker told to quit has no time to
// wait for blocks, and every iteration must be in its final report.
func (s *Scanner) Abandon(err error) int {
	s.mu.Lock()
	left := s.tracked
	s.tracked = make(map[common.Hash]*tracked)
	s.inflight += len(left)
	s.mu.Unlock()
	for h, t := range left {
		t.done(Inclusion{Hash: h, Err: err})
	}
	s.mu.Lock()
	s.inflight -= len(left)
	s.broadcastLocked()
	s.mu.Unlock()
	return len(left)
}

func (s *Scanner) stop() {
	s.mu.Lock()
	s.stopped = true
	s.queue, s.qhead = nil, 0
	s.mu.Unlock()
	s.Abandon(ErrScanStopped)
}

func (s *Scanner) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.cfg.CallTimeout)
}

func (s *Scanner) blockNumber(ctx context.Context) (uint64, error) {
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	return s.cfg.Client.BlockNumber(cctx)
}

// outage counts a failed fetch and logs the first of an outage only.
func (s *Scanner) outage(err error) {
	s.mu.Lock()
	s.counts.RPCErrors++
	s.mu.Unlock()
	if s.down {
		return
	}
	s.down, s.downSince = true, time.Now()
	s.log.Warn("block scanner: node unreachable, retrying", "url", s.cfg.Client.URL(), "every", s.cfg.Poll, "err", oneLine(err.Error()))
}

func (s *Scanner) up() {
	if s.down {
		s.down = false
		s.log.Info("block scanner: node reachable again", "url", s.cfg.Client.URL(), "after", time.Since(s.downSince).Round(time.Millisecond))
	}
}

// step scans the blocks up to the chain's head, at most MaxCatchUp of them.
// It returns true when more blocks are known to wait.
func (s *Scanner) step(ctx context.Context) bool {
	target := s.wsHead.Load()
	if target < s.next || !s.wsUp.Load() {
		n, err := s.blockNumber(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.outage(err)
			}
			return false
		}
		s.up()
		target = max(target, n)
	}
	for range s.cfg.MaxCatchUp {
		if s.next > target || ctx.Err() != nil {
			return false
		}
		if !s.scan(ctx) {
			return false
		}
	}
	return s.next <= target
}

// scan fetches block s.next and resolves what it holds. It returns false
// when the block must be tried again on the next tick.
func (s *Scanner) scan(ctx context.Context) bool {
	n := s.next
	method := ""
	if s.askReceipts && s.rcpts != txReceipts && s.Pending() > 0 {
		method = s.rcpts.method()
	}
	cctx, cancel := s.callCtx(ctx)
	b, receipts, rerr, err := s.cfg.Client.blockAndReceipts(cctx, n, method, func(b *Block) { s.seen(n, b) })
	cancel()
	if err == ErrNotFound {
		return false // the node announced it but does not serve it yet
	}
	if err != nil {
		if ctx.Err() == nil {
			s.outage(err)
		}
		return false
	}
	s.up()
	if b.Number != n {
		s.outage(fmt.Errorf("asked block %d, got %d", n, b.Number))
		return false
	}
	if s.reorged(b) {
		return true
	}
	need, proven := s.provenReceipts(b)
	switch {
	case proven != nil:
		// Asked for beside the block all the same, they agree: the
		// header proves what they hold. Not asked for the next block.
		receipts, rerr, s.askReceipts = proven, nil, false
		s.mu.Lock()
		s.counts.Proven++
		s.mu.Unlock()
	case !need:
		receipts, rerr = nil, nil // it holds nothing tracked
	case method == "":
		s.askReceipts = true
		method = s.rcpts.method()
		if s.rcpts != txReceipts {
			cctx, cancel := s.callCtx(ctx)
			receipts, rerr = s.cfg.Client.blockReceipts(cctx, n, method, b.Hash)
			cancel()
		}
	}
	if need && proven == nil {
		// A node without the method: the next source, for this block too.
		for rerr != nil && isMethodNotFound(rerr) && s.rcpts < txReceipts {
			s.rcpts++
			s.log.Info("block scanner: "+method+" unavailable, using "+s.rcpts.method(), "url", s.cfg.Client.URL())
			method, receipts, rerr = s.rcpts.method(), nil, nil
			if s.rcpts < txReceipts {
				cctx, cancel := s.callCtx(ctx)
				receipts, rerr = s.cfg.Client.blockReceipts(cctx, n, method, b.Hash)
				cancel()
			}
		}
		if s.rcpts == txReceipts {
			receipts, err = s.trackedReceipts(ctx, b, b.Txs)
			if err != nil {
				if ctx.Err() == nil {
					s.outage(err)
				}
				return false
			}
		}
		if s.rcpts == ethBlockReceipts && rerr == nil {
			s.addTxErrors(ctx, b, receipts)
		}
	}
	// rerr (the node's error for the receipts, or receipts of another
	// fork) leaves receipts nil: every tracked one counts as missing.
	return s.resolve(b, receipts)
}

// rootRecheck: every rootRecheck-th block in a row not proven under the
// receipts-root derivation that matched last is tried under all of them.
const rootRecheck = 16

// provenReceipts tells whether block b holds tracked transactions, and,
// when each of them takes a proven receipt (TrackHooks.Proven) and the
// header proves that every transaction in b succeeded alike
// (provenUniform), their receipts. A transaction tracked after this look
// is missing from them; resolve then has the block fetched again, and its
// receipts asked for.
func (s *Scanner) provenReceipts(b *Block) (need bool, receipts map[common.Hash]*Receipt) {
	var hs []common.Hash
	all := true
	s.mu.Lock()
	for _, h := range b.Txs {
		if t, ok := s.tracked[h]; ok {
			hs = append(hs, h)
			all = all && t.proven
		}
	}
	s.mu.Unlock()
	if len(hs) == 0 || !all || b.Receipts == (common.Hash{}) {
		return len(hs) > 0, nil
	}
	if b.Logged {
		// A receipt with logs cannot be proven alike (token transfers
		// log): hashing such a block three ways would cost klayslave 25 ms
		// of CPU for 5,000 transactions, in vain.
		return true, nil
	}
	// The derivation that matched last is tried alone; all of them when
	// none has matched yet, and after every rootRecheck-th miss in a row,
	// in case the chain's governance changed it.
	tryAll := s.rootImpl < 0 || s.rootMisses%rootRecheck == rootRecheck-1
	gas, impl, ok := provenUniform(b.Receipts, len(b.Txs), b.GasUsed, s.rootImpl, tryAll)
	if !ok {
		s.rootMisses++
		return true, nil
	}
	s.rootImpl, s.rootMisses = impl, 0
	receipts = make(map[common.Hash]*Receipt, len(hs))
	for _, h := range hs {
		receipts[h] = &Receipt{TxHash: h, BlockNumber: b.Number, Status: 1, GasUsed: gas}
	}
	return true, receipts
}

// seen tells the trackers of the transactions block b (asked as n) holds
// that a block holds them, unless b is not the block asked for or not the
// child of the last one scanned (scan then deals with it).
func (s *Scanner) seen(n uint64, b *Block) {
	if b.Number != n || s.forked(b) {
		return
	}
	var calls []func()
	s.mu.Lock()
	for _, h := range b.Txs {
		if t, ok := s.tracked[h]; ok && t.seen != nil {
			calls = append(calls, t.seen)
		}
	}
	s.mu.Unlock()
	for _, f := range calls {
		f()
	}
}

// forked reports whether b follows the last block scanned in height but
// not in parent hash.
func (s *Scanner) forked(b *Block) bool {
	k := len(s.recent)
	return k > 0 && s.recent[k-1].num+1 == b.Number && s.recent[k-1].hash != b.ParentHash
}

// reorged checks b against the previous block scanned. On a mismatch it
// forgets that block and moves s.next back to rescan it.
func (s *Scanner) reorged(b *Block) bool {
	if !s.forked(b) {
		return false
	}
	last := s.recent[len(s.recent)-1]
	s.recent = s.recent[:len(s.recent)-1]
	s.next = last.num
	s.tries = 0
	s.mu.Lock()
	s.counts.Reorgs++
	s.mu.Unlock()
	s.log.Warn("block scanner: reorg, rescanning", "block", last.num, "old", last.hash.Hex(), "child", b.Number, "parent", b.ParentHash.Hex(), "depthLeft", len(s.recent))
	if len(s.recent) == 0 {
		s.log.Warn("block scanner: reorg deeper than the blocks kept; carrying on from the new fork", "depth", s.cfg.ReorgDepth)
	}
	return true
}

// trackedReceipts fetches, with one batch of klay_getTransactionReceipt,
// the receipts in block b of those of hashes that are tracked: all of b's
// on a node without block receipts, the reverted ones for their txError.
func (s *Scanner) trackedReceipts(ctx context.Context, b *Block, hashes []common.Hash) (map[common.Hash]*Receipt, error) {
	var want []common.Hash
	s.mu.Lock()
	for _, h := range hashes {
		if _, ok := s.tracked[h]; ok {
			want = append(want, h)
		}
	}
	s.mu.Unlock()
	if len(want) == 0 {
		return nil, nil
	}
	cctx, cancel := s.callCtx(ctx)
	defer cancel()
	return s.cfg.Client.receiptsOf(cctx, want, b.Hash)
}

// addTxErrors replaces the eth receipts of b's reverted tracked
// transactions with Kaia's own, for the txError that says why they failed.
// Should that fail, they stay reverted, without the code. At saturation
// nearly every block has none reverted, and costs one pass over its
// receipts.
func (s *Scanner) addTxErrors(ctx context.Context, b *Block, receipts map[common.Hash]*Receipt) {
	var reverted []common.Hash
	for h, r := range receipts {
		if r.Status == 0 {
			reverted = append(reverted, h)
		}
	}
	if len(reverted) == 0 {
		return
	}
	klayReceipts, err := s.trackedReceipts(ctx, b, reverted)
	if err != nil {
		s.log.Debug("block scanner: no txError for reverted transactions", "block", b.Number, "err", err)
		return
	}
	for h, r := range klayReceipts {
		if r.Status == 0 {
			receipts[h] = r
		}
	}
}

type verdict struct {
	t  *tracked
	in Inclusion
}

// resolve reports b's tracked transactions, records b and expires the
// transactions whose timeout it reaches. It returns false, changing
// nothing, when a tracked transaction's receipt is missing and tries are
// left.
func (s *Scanner) resolve(b *Block, receipts map[common.Hash]*Receipt) bool {
	var found []verdict
	missing := 0
	s.mu.Lock()
	for _, h := range b.Txs {
		t, ok := s.tracked[h]
		if !ok {
			continue
		}
		r := receipts[h]
		if r == nil {
			missing++
			continue
		}
		found = append(found, verdict{t, Inclusion{Hash: h, Block: b.Number, Time: b.Time,
			Status: r.Status, TxError: r.TxError, GasUsed: r.GasUsed, Receipt: r}})
	}
	if missing > 0 {
		s.tries++
		if s.tries < s.cfg.ReceiptTries {
			s.mu.Unlock()
			return false
		}
		s.counts.MissingReceipts++
		s.log.Warn("block scanner: receipts still missing, moving on", "block", b.Number, "missing", missing, "tries", s.tries)
	}
	for _, v := range found {
		delete(s.tracked, v.in.Hash)
	}
	s.counts.Included += uint64(len(found))
	s.counts.Blocks++
	expired := s.expireLocked(max(s.head, b.Number))
	s.inflight += len(found) + len(expired)
	s.mu.Unlock()

	var interval time.Duration
	if k := len(s.recent); k > 0 && s.recent[k-1].num+1 == b.Number {
		interval = b.Time.Sub(s.recent[k-1].time)
	}
	if len(s.recent) == s.cfg.ReorgDepth {
		copy(s.recent, s.recent[1:])
		s.recent = s.recent[:len(s.recent)-1]
	}
	s.recent = append(s.recent, blockRef{num: b.Number, hash: b.Hash, time: b.Time})
	s.next = b.Number + 1
	s.tries = 0

	for _, v := range found {
		v.t.done(v.in)
	}
	if s.cfg.OnBlock != nil {
		s.cfg.OnBlock(BlockStats{Number: b.Number, Hash: b.Hash, Time: b.Time, Interval: interval,
			Txs: len(b.Txs), Ours: len(found), GasUsed: b.GasUsed})
	}
	if len(expired) > 0 {
		s.lastChance(expired, max(s.head, b.Number))
	}
	// Head and Pending move only now, so that WaitHead and Drain return
	// after the callbacks of the block.
	s.mu.Lock()
	s.inflight -= len(found) + len(expired)
	s.head = max(s.head, b.Number)
	s.broadcastLocked()
	s.mu.Unlock()
	return true
}

// expireLocked takes out of tracking the transactions whose deadline head
// reaches.
func (s *Scanner) expireLocked(head uint64) []verdict {
	var out []verdict
	for s.qhead < len(s.queue) && s.queue[s.qhead].deadline <= head {
		e := s.queue[s.qhead]
		s.queue[s.qhead] = expiry{}
		s.qhead++
		if t, ok := s.tracked[e.hash]; ok && t == e.t {
			delete(s.tracked, e.hash)
			out = append(out, verdict{t, Inclusion{Hash: e.hash}})
		}
	}
	// Reuse the queue's space once most of it is dead.
	if s.qhead > 1024 && s.qhead*2 > len(s.queue) {
		s.queue = append(s.queue[:0], s.queue[s.qhead:]...)
		s.qhead = 0
	}
	return out
}

// lastChance looks up the receipts of expired transactions before failing
// them: one tracked after the block holding it was scanned has a receipt
// though no scanned block matched it.
func (s *Scanner) lastChance(expired []verdict, head uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CallTimeout)
	defer cancel()
	hashes := make([]common.Hash, len(expired))
	for i, v := range expired {
		hashes[i] = v.in.Hash
	}
	// On failure every one fails: the node answers blocks but not
	// receipts, and the verdict must come.
	rs, _ := s.cfg.Client.receiptsOf(ctx, hashes, common.Hash{})
	expired = s.extendPooled(ctx, expired, rs, head)
	times := map[uint64]time.Time{}
	included := 0
	for i := range expired {
		in := &expired[i].in
		r := rs[in.Hash]
		if r == nil {
			in.Err = fmt.Errorf("%w within %d blocks", ErrNotIncluded, s.cfg.Timeout*uint64(1+expired[i].t.extended))
			continue
		}
		t, ok := times[r.BlockNumber]
		if !ok {
			if b, _, _, err := s.cfg.Client.blockAndReceipts(ctx, r.BlockNumber, "", nil); err == nil {
				t = b.Time
			}
			times[r.BlockNumber] = t
		}
		*in = Inclusion{Hash: in.Hash, Block: r.BlockNumber, Time: t, Status: r.Status, TxError: r.TxError, GasUsed: r.GasUsed, Receipt: r}
		included++
	}
	s.mu.Lock()
	s.counts.Included += uint64(included)
	s.counts.NotIncluded += uint64(len(expired) - included)
	s.mu.Unlock()
	for _, v := range expired {
		v.t.done(v.in)
	}
}

// extendPooled tracks again, for another timeout, the expired transactions
// with no receipt that can still be included: their tracker's live says so,
// or, for those tracked without live, the node holds them in its pool (at
// most maxExtensions times each, from head, the block that expired them).
// It returns the others.
func (s *Scanner) extendPooled(ctx context.Context, expired []verdict, receipts map[common.Hash]*Receipt, head uint64) []verdict {
	var ask []common.Hash
	keep := map[common.Hash]bool{}
	live := 0
	for _, v := range expired {
		if receipts[v.in.Hash] != nil || v.t.extended >= maxExtensions {
			continue
		}
		// Expired entries are out of s.tracked: v.t is the scanner
		// goroutine's alone, and live runs without s.mu. A sender's
		// answer is final (a spent nonce is spent everywhere); the pool
		// is asked only of transactions no sender answers for.
		if v.t.live == nil {
			ask = append(ask, v.in.Hash)
		} else if v.t.live() {
			keep[v.in.Hash] = true
			live++
		}
	}
	if len(ask) > 0 {
		// On an error none counts as pooled: the verdicts must come.
		pooled, _ := s.cfg.Client.pooled(ctx, ask)
		for h := range pooled {
			keep[h] = true
		}
	}
	if len(keep) == 0 {
		return expired
	}
	out := expired[:0:0]
	s.mu.Lock()
	for _, v := range expired {
		if !keep[v.in.Hash] || s.stopped {
			out = append(out, v)
			continue
		}
		v.t.extended++
		s.counts.Extended++
		if t, ok := s.tracked[v.in.Hash]; ok { // tracked again meanwhile
			t.add(TrackHooks{Seen: v.t.seen, Live: v.t.live, Proven: v.t.proven}, v.t.done)
			continue
		}
		s.tracked[v.in.Hash] = v.t
		s.queue = append(s.queue, expiry{hash: v.in.Hash, t: v.t, deadline: head + s.cfg.Timeout})
	}
	s.mu.Unlock()
	if n := len(expired) - len(out); n > 0 {
		s.log.Info("block scanner: transactions past the inclusion timeout can still be included; waiting longer",
			"count", n, "nonce not spent", live, "in the node's pool", n-live, "blocks", s.cfg.Timeout)
	}
	return out
}

// wsHeader is the part of a newHeads notification used: the number.
type wsHeader struct {
	Number *hexutil.Big `json:"number"`
}

// wsLoop keeps a newHeads subscription up while ctx lasts; the scanner
// polls whenever it is down.
func (s *Scanner) wsLoop(ctx context.Context) {
	retry := max(s.cfg.Poll, time.Second)
	failing := false
	for ctx.Err() == nil {
		err := s.wsSession(ctx)
		s.wsUp.Store(false)
		s.kick()
		if ctx.Err() != nil {
			return
		}
		if err != nil && !failing {
			s.log.Warn("block scanner: WebSocket new heads unavailable, polling", "url", s.cfg.WSURL, "err", oneLine(err.Error()), "retry", retry)
		}
		failing = err != nil
		if sleep(ctx, retry) != nil {
			return
		}
		retry = min(2*retry, 30*time.Second)
	}
}

// wsSession subscribes once and forwards heads until the subscription or
// ctx ends. It returns nil only when it ends with ctx.
func (s *Scanner) wsSession(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	c, err := rpc.DialContext(dctx, s.cfg.WSURL)
	if err != nil {
		return err
	}
	defer c.Close()
	ch := make(chan *wsHeader, 64)
	sub, err := c.Subscribe(dctx, "klay", ch, "newHeads")
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	s.wsUp.Store(true)
	s.log.Info("block scanner: following new heads over WebSocket", "url", s.cfg.WSURL)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-sub.Err():
			if err == nil {
				err = errors.New("subscription closed")
			}
			return err
		case h := <-ch:
			if h == nil || h.Number == nil || !h.Number.ToInt().IsUint64() {
				continue
			}
			n := h.Number.ToInt().Uint64()
			for {
				cur := s.wsHead.Load()
				if n <= cur || s.wsHead.CompareAndSwap(cur, n) {
					break
				}
			}
			s.kick()
		}
	}
}

func (s *Scanner) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// WSEndpointFor derives a WebSocket URL from an HTTP one by Kaia's port
// convention (wsport = rpcport + 1: 8551→8552, 7551→7552). It returns ""
// when the URL has no explicit port or a standard one (a proxy, where the
// convention says nothing).
func WSEndpointFor(httpURL string) string {
	u, err := url.Parse(httpURL)
	if err != nil || u.Host == "" {
		return ""
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return ""
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || port == "" {
		return ""
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p >= 65535 || p == 80 || p == 443 {
		return ""
	}
	u.Host = net.JoinHostPort(host, strconv.Itoa(p+1))
	return u.String()
}
