package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kaiachain/kaia/common"
)

// result is the JSON a script reads (-json). Rates from blocks are under
// blocks.run.tps (the whole run), blocks.first.tps (the first
// blocks.firstN blocks) and blocks.emptyBlocks; send.takenTps is what the
// node accepted per second, which is not what it mined.
type result struct {
	Label         string       `json:"label"`
	Endpoint      string       `json:"endpoint"`
	ChainID       uint64       `json:"chainId"`
	RunID         string       `json:"runId"`
	StartedAt     time.Time    `json:"startedAt"`
	Config        runConfig    `json:"config"`
	FundSeconds   float64      `json:"fundSeconds"`
	SignSeconds   float64      `json:"signSeconds"`
	Send          *sendReport  `json:"send"`
	DeadlineBlock uint64       `json:"deadlineBlock"`
	Blocks        *summary     `json:"blocks"`
	Interrupted   bool         `json:"interrupted"`
	Sweep         *sweepReport `json:"sweep"`
}

type runConfig struct {
	Accounts     int            `json:"accounts"`
	Concurrency  int            `json:"concurrency"`
	DurationSec  float64        `json:"durationSec"`
	RateBound    int            `json:"rateBound"`
	Presigned    int            `json:"presigned"`
	GasPriceGkei float64        `json:"gasPriceGkei"`
	Funder       common.Address `json:"funder"`
}

type sendReport struct {
	Taken             int64   `json:"taken"`    // accepted or "known transaction"
	TakenTPS          float64 `json:"takenTps"` // taken / sending time
	NonceUsed         int64   `json:"nonceUsed"`
	PoolFull          int64   `json:"poolFullRetries"`
	NoAnswer          int64   `json:"noAnswerRetries"`
	Rejected          int64   `json:"rejected"`
	AbandonedAccounts int64   `json:"abandonedAccounts"`
	SendSeconds       float64 `json:"sendSeconds"`
	// AllSentAfterSec is set when every pre-signed transfer was taken
	// before the deadline: the node was faster than -rate, raise it.
	AllSentAfterSec *float64          `json:"allSentAfterSec"`
	TakenPerSecond  []int64           `json:"takenPerSecond"`
	FirstErrors     map[string]string `json:"firstErrors"`
}

type sweepReport struct {
	Swept        int    `json:"swept"`
	Empty        int    `json:"empty"`
	ReturnedKLAY string `json:"returnedKlay"`
	Error        string `json:"error,omitempty"`
}

func (s *sendStats) report(elapsed time.Duration) *sendReport {
	r := &sendReport{Taken: s.accepted.Load(), NonceUsed: s.nonceUsed.Load(), PoolFull: s.poolFull.Load(),
		NoAnswer: s.noAnswer.Load(), Rejected: s.rejected.Load(), AbandonedAccounts: s.abandoned.Load(),
		SendSeconds: elapsed.Seconds(), TakenPerSecond: make([]int64, len(s.perSecond))}
	if elapsed > 0 {
		r.TakenTPS = float64(r.Taken) / elapsed.Seconds()
	}
	if f := s.finished.Load(); f > 0 {
		sec := time.Duration(f).Seconds()
		r.AllSentAfterSec = &sec
	}
	for i := range s.perSecond {
		r.TakenPerSecond[i] = s.perSecond[i].Load()
	}
	s.mu.Lock()
	r.FirstErrors = make(map[string]string, len(s.firstErr))
	for k, v := range s.firstErr {
		r.FirstErrors[k] = v
	}
	s.mu.Unlock()
	return r
}

func writeJSON(path string, r *result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write -json file: %w", err)
	}
	return nil
}

// printTable prints the result for people: the rates first, then a row
// per block.
func printTable(w io.Writer, r *result) {
	c := r.Config
	fmt.Fprintf(w, "\nnode ceiling: %s (%s), chain %d, %d accounts, %d senders, %s, %s transfers pre-signed at %s gkei\n",
		r.Label, r.Endpoint, r.ChainID, c.Accounts, c.Concurrency, time.Duration(c.DurationSec*float64(time.Second)),
		thousands(int64(c.Presigned)), trimFloat(c.GasPriceGkei))
	if s := r.Send; s != nil {
		fmt.Fprintf(w, "sent: %s taken by the node in %.1f s (%s tx/s answered), %s \"txpool is full\" retries, %s unanswered retries, %d nonce already used, %d rejected (%d accounts dropped)\n",
			thousands(s.Taken), s.SendSeconds, thousands(int64(s.TakenTPS+0.5)), thousands(s.PoolFull), thousands(s.NoAnswer), s.NonceUsed, s.Rejected, s.AbandonedAccounts)
		if s.AllSentAfterSec != nil {
			fmt.Fprintf(w, "note: every pre-signed transfer was taken after %.1f s; the node may take more: raise -rate\n", *s.AllSentAfterSec)
		}
		keys := make([]string, 0, len(s.FirstErrors))
		for k := range s.FirstErrors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "first %s answer: %s\n", k, s.FirstErrors[k])
		}
	}
	if r.Interrupted {
		fmt.Fprintln(w, "note: interrupted; the figures cover the blocks up to the interruption")
	}
	b := r.Blocks
	if b == nil {
		fmt.Fprintln(w, "no block count (see the error)")
		return
	}
	fmt.Fprintf(w, "blocks %d..%d after start block %d (deadline block %d); %d empty\n\n", b.FirstBlock, b.LastBlock, b.StartBlock, r.DeadlineBlock, b.EmptyBlocks)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "window\tblocks\ttxs\tof this run\tseconds\ttx/s\tthis run tx/s\t")
	row := func(name string, x window) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.2f\t%s\t%s\t\n", name, x.Blocks, thousands(int64(x.Txs)), thousands(int64(x.Ours)),
			x.Seconds, thousands(int64(x.TPS+0.5)), thousands(int64(x.OursTPS+0.5)))
	}
	row("run", b.Run)
	row(fmt.Sprintf("first %d blocks", b.FirstN), b.First)
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "block\t+s\ttxs\tof this run\tgas used\tbase fee gkei\t")
	start := int64(0)
	if len(b.PerBlock) > 0 {
		start = b.PerBlock[0].TimeMs
	}
	for _, x := range b.PerBlock {
		fmt.Fprintf(tw, "%d\t%.2f\t%d\t%d\t%s\t%s\t\n", x.Number, float64(x.TimeMs-start)/1000, x.Txs, x.Ours, thousands(int64(x.GasUsed)), trimFloat(x.BaseFeeGkei))
	}
	_ = tw.Flush()
}

// thousands formats n with comma separators, as the docs do.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.3f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
