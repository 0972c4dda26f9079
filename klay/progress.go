package klay

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressEvery is how often a funding or sweep that does not write to a
// terminal logs how far it is.
const progressEvery = 5 * time.Second

// progress shows how far a funding or sweep is. On a terminal it is a bar
// redrawn in place; written to a file or a CI log, whose carriage-return
// frames would pile up between the log lines, it is one log line every few
// seconds instead. A nil writer shows nothing.
type progress struct {
	bar *progressbar.ProgressBar // on a terminal

	// Elsewhere: the count, logged by a ticker until Finish.
	done, total atomic.Int64
	stop        chan struct{}
	once        sync.Once
	wg          sync.WaitGroup
}

// newBar returns the progress of n items, named by label. Its log lines
// go to log, or to w when log is nil or discards them.
func newBar(w io.Writer, n int, label string, log *slog.Logger) *progress {
	return newProgress(w, n, label, log, progressEvery)
}

func newProgress(w io.Writer, n int, label string, log *slog.Logger, every time.Duration) *progress {
	p := &progress{stop: make(chan struct{})}
	p.total.Store(int64(n))
	switch {
	case w == nil:
		close(p.stop)
	case isTerminal(w):
		close(p.stop)
		p.bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("acct"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }),
		)
	default:
		if log == nil || !log.Enabled(context.Background(), slog.LevelInfo) {
			log = slog.New(slog.NewTextHandler(w, nil))
		}
		start := time.Now()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					done := p.done.Load()
					log.Info(label, "done", done, "of", p.total.Load(),
						"per_second", float64(int64(float64(done)/time.Since(start).Seconds()*10))/10)
				}
			}
		}()
	}
	return p
}

// isTerminal says whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Add counts n more items done.
func (p *progress) Add(n int) error {
	if p.bar != nil {
		return p.bar.Add(n)
	}
	p.done.Add(int64(n))
	return nil
}

// Finish ends the bar or stops the log lines.
func (p *progress) Finish() error {
	if p.bar != nil {
		return p.bar.Finish()
	}
	p.once.Do(func() {
		select {
		case <-p.stop:
		default:
			close(p.stop)
		}
	})
	p.wg.Wait()
	return nil
}
