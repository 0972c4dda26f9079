package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// runStandalone runs the load with no master: it starts -users users at
// -spawn-rate, prints a live table every -report-interval, stops after
// -run-time (ramp-up included, as Locust's -t) or on Ctrl-C, and prints the
// final summary.
func runStandalone(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	s, err := prepare(ctx, "klayslave run", args, true, stderr)
	if err != nil {
		return err
	}
	o, r, col, log := s.o, s.runner, s.stats, s.log
	log.Info("starting", "users", o.users, "spawn-rate", o.spawnRate, "run-time", o.runTime, "max-rps", o.maxRPS)
	ctx, cancel := context.WithTimeout(ctx, o.runTime)
	defer cancel()

	col.Reset()
	s.window.Reset()
	s.resetBlocks()
	// On a terminal the table is redrawn in place; piped to a file or a
	// CI log, every table is kept, one after the other.
	f, ok := stdout.(*os.File)
	live := ok && term.IsTerminal(int(f.Fd()))
	go spawnGradually(ctx, r, o.users, o.spawnRate)
	tick := time.NewTicker(o.reportInterval)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			rows, total := col.Summary()
			if live {
				fmt.Fprint(stdout, "\033[H\033[2J") // redraw in place on a terminal
			}
			printTable(stdout, rows, total, r.UserCount(), s.currentRPS)
		}
	}
	s.StopAll()
	rows, total := col.Summary()
	fmt.Fprintln(stdout, "\nFinal summary:")
	printTable(stdout, rows, total, 0, func(r stats.Row) float64 { return r.RPS })
	printFailures(stdout, col.Errors())
	s.printBlocks(stdout)
	if d := r.Dropped(); d > 0 {
		fmt.Fprintf(stdout, "%d iterations dropped: no user was free when they were due (raise -users, or lower -max-rps)\n", d)
	}
	rerr := s.writeReport(stdout)
	if err := errors.Join(rerr, s.finish()); err != nil {
		return err
	}
	if total.Requests > 0 {
		ratio := float64(total.Failures) / float64(total.Requests)
		if ratio > o.failRatio {
			return fmt.Errorf("failure ratio %.4f exceeds -fail-ratio %v (%d of %d iterations failed)", ratio, o.failRatio, total.Failures, total.Requests)
		}
	}
	return nil
}

// spawnGradually starts users one at a time at rate users/s (all at once if
// rate is 0), like a Locust master's ramp-up.
func spawnGradually(ctx context.Context, r *runner.Runner, users int, rate float64) {
	if rate <= 0 {
		r.Spawn(map[string]int{"": users})
		return
	}
	start := time.Now()
	for n := 1; n <= users; n++ {
		due := start.Add(time.Duration(float64(n-1) / rate * float64(time.Second)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(due)):
		}
		r.Spawn(map[string]int{"": n})
	}
}

// printTable prints the rows and their total; rps gives a row's req/s.
// With users > 0 it is the live table.
func printTable(w io.Writer, rows []stats.Row, total stats.Row, users int, rps func(stats.Row) float64) {
	if users > 0 {
		fmt.Fprintf(w, "\n%s  users: %d  (req/s over the last %s)\n", time.Now().Format("15:04:05"), users, liveWindow)
	}
	width := len("Aggregated")
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r.Name))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-utf8.RuneCountInString(s)) }
	fmt.Fprintf(w, "%s %9s %8s | %8s %8s %8s %8s %8s %8s | %8s\n",
		pad("Name"), "# reqs", "# fails", "Avg", "Min", "Max", "p50", "p90", "p99", "req/s")
	line := func(r stats.Row) {
		fmt.Fprintf(w, "%s %9d %8d | %8s %8s %8s %8s %8s %8s | %8.1f\n",
			pad(r.Name), r.Requests, r.Failures, ms(r.Avg), ms(r.Min), ms(r.Max), ms(r.P50), ms(r.P90), ms(r.P99), rps(r))
	}
	// Iterations first, then Aggregated (their total), then the rows that
	// stand beside it: send, e2e, dropped.
	for _, r := range rows {
		if !r.Aside {
			line(r)
		}
	}
	line(total)
	for _, r := range rows {
		if r.Aside {
			line(r)
		}
	}
}

// ms formats a duration in milliseconds with a precision that suits it.
func ms(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v < 10 {
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.0fms", v)
}

// liveWindow is the span of the live table's req/s, as Locust's console.
const liveWindow = 10 * time.Second

// currentRPS is a row's req/s over the last liveWindow.
func (s *session) currentRPS(r stats.Row) float64 { return s.window.RPS(r.Method, r.Name) }

// maxFailureRows and maxMessage bound the failures table.
const (
	maxFailureRows = 20
	maxMessage     = 100
)

// printFailures shows why requests failed, as a table of message, case
// (the row) and count: the most frequent first, at most maxFailureRows.
func printFailures(w io.Writer, errs []stats.Error) {
	if len(errs) == 0 {
		return
	}
	shown := errs[:min(len(errs), maxFailureRows)]
	msgs := make([]string, len(shown))
	mw, cw := len("Message"), len("Case")
	for i, e := range shown {
		msgs[i] = oneLine(e.Error)
		if r := []rune(msgs[i]); len(r) > maxMessage {
			msgs[i] = string(r[:maxMessage-1]) + "…"
		}
		mw = max(mw, utf8.RuneCountInString(msgs[i]))
		cw = max(cw, utf8.RuneCountInString(e.Name))
	}
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-utf8.RuneCountInString(s)) }
	fmt.Fprintln(w, "\nFailures:")
	fmt.Fprintf(w, "%s  %s  %9s\n", pad("Message", mw), pad("Case", cw), "Count")
	for i, e := range shown {
		fmt.Fprintf(w, "%s  %s  %9d\n", pad(msgs[i], mw), pad(e.Name, cw), e.Occurrences)
	}
	if len(errs) > len(shown) {
		fmt.Fprintf(w, "… and %d more kinds\n", len(errs)-len(shown))
	}
}
