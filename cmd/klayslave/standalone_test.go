package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/klayslave/klayslave/stats"
)

// The failures table: message, case and count columns, the most frequent
// first, long messages cut, at most 20 rows.
func TestFailuresTable(t *testing.T) {
	errs := []stats.Error{
		{Name: "mcValueTransferTc send", Method: "send", Error: "send transaction (pool-full): txpool is full", Occurrences: 1234},
		{Name: "mcValueTransferTc", Method: "tx", Error: "not included\nwithin 30 blocks", Occurrences: 7},
		{Name: "rpcPing", Method: "POST", Error: strings.Repeat("x", 300), Occurrences: 1},
	}
	var b bytes.Buffer
	printFailures(&b, errs)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if lines[0] != "Failures:" || !regexp.MustCompile(`^Message +Case +Count$`).MatchString(lines[1]) {
		t.Fatalf("no table header:\n%s", b.String())
	}
	for i, want := range []string{
		`^send transaction \(pool-full\): txpool is full +mcValueTransferTc send +1234$`,
		`^not included within 30 blocks +mcValueTransferTc +7$`,
		`^x{99}… +rpcPing +1$`,
	} {
		if !regexp.MustCompile(want).MatchString(lines[i+2]) {
			t.Errorf("row %d = %q, want %s", i, lines[i+2], want)
		}
	}
	caseCol := strings.Index(lines[1], "Case")
	for _, l := range lines[2:] {
		if strings.Index(l, "mcValueTransferTc") > 0 && strings.Index(l, "mcValueTransferTc") != caseCol {
			t.Errorf("case column not aligned in %q", l)
		}
	}

	var many []stats.Error
	for i := range 25 {
		many = append(many, stats.Error{Name: "noop", Error: "e" + strconv.Itoa(i), Occurrences: 1})
	}
	b.Reset()
	printFailures(&b, many)
	if n := strings.Count(b.String(), "\n"); n != 1+2+20+1 || !strings.Contains(b.String(), "… and 5 more kinds") {
		t.Errorf("25 kinds: %d lines\n%s", n, b.String())
	}
}

// A standalone run's live table shows the req/s of the last 10 s (the
// window itself is tested in stats); a run whose requests fail ends with
// the failures table, and its count equals the summary's failures.
func TestStandaloneEndsWithTheFailuresTable(t *testing.T) {
	code, out, errs := runArgs("run", "-tc=rpcPing", "-mcEndpoint", "http://127.0.0.1:1", "-users", "2",
		"-run-time", "1s", "-max-rps", "20", "-fail-ratio", "1", "-report-interval", "400ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	live, _, _ := strings.Cut(out, "Final summary:")
	if !strings.Contains(live, "users: 2  (req/s over the last 10s)") {
		t.Errorf("the live table does not say its req/s span:\n%s", out)
	}
	_, fails := summaryCounts(t, out, "rpcPing")
	_, table, ok := strings.Cut(out, "\nFailures:\n")
	m := regexp.MustCompile(`(?m)connection refused +rpcPing +(\d+)$`).FindStringSubmatch(table)
	if !ok || m == nil || fails == 0 || m[1] != strconv.Itoa(int(fails)) {
		t.Fatalf("no failures row for the %v failures:\n%s", fails, out)
	}
}
