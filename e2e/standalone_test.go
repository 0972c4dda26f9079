package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// Standalone mode: live table, final summary with every column, and the
// summary's count equals what the sink received.
func TestStandaloneSummaryMatchesSink(t *testing.T) {
	s := newSink(t, 0)
	p := start(t, binary, "run", "-tc=rpcPing", "-users", "5", "-spawn-rate", "50", "-run-time", "4s",
		"-max-rps", "200", "-report-interval", "1s", "-mcEndpoint", s.URL)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	out := p.Output()
	if strings.Count(out, "users: 5") < 2 {
		t.Errorf("expected a live table every second with 5 users:\n%s", out)
	}
	for _, col := range []string{"Name", "# reqs", "# fails", "Avg", "Min", "Max", "p50", "p90", "p99", "req/s"} {
		if !strings.Contains(out, col) {
			t.Errorf("summary lacks column %q", col)
		}
	}
	final := out[strings.Index(out, "Final summary:"):]
	m := regexp.MustCompile(`(?m)^rpcPing\s+(\d+)\s+0 \|`).FindStringSubmatch(final)
	if m == nil {
		t.Fatalf("no rpcPing row in the final summary:\n%s", final)
	}
	if got, want := atoi(t, m[1]), s.n.Load(); got != want {
		t.Errorf("summary counted %d requests, sink received %d", got, want)
	}
	// 200 rps for ~4 s.
	if n := s.n.Load(); n < 600 || n > 820 {
		t.Errorf("sink received %d requests, want about 800 at -max-rps 200 for 4 s", n)
	}
}

// -fail-ratio: the exit code says whether the failure ratio was exceeded.
func TestStandaloneFailRatio(t *testing.T) {
	s := newSink(t, 2) // every second request fails
	p := start(t, binary, "run", "-tc=rpcPing", "-users", "2", "-run-time", "1s", "-max-rps", "100",
		"-fail-ratio", "0.2", "-mcEndpoint", s.URL)
	if code := p.wait(t, 20*time.Second); code != 1 {
		t.Fatalf("exit code %d with 50%% failures and -fail-ratio 0.2, want 1", code)
	}
	p.waitFor(t, `failure ratio 0\.[45]\d* exceeds -fail-ratio 0.2`, time.Second)

	ok := start(t, binary, "run", "-tc=rpcPing", "-users", "2", "-run-time", "1s", "-max-rps", "100",
		"-fail-ratio", "0.6", "-mcEndpoint", s.URL)
	if code := ok.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d with 50%% failures and -fail-ratio 0.6, want 0", code)
	}
}

// Bad input through the real binary: exit 2, one line, no stack trace.
func TestBinaryBadInput(t *testing.T) {
	for _, args := range [][]string{{"-tc"}, {"-tc=bogus"}, {"-tc=noop", "-max-rps", "-1"}, {"-tc=noop", "-master-port", "x"}} {
		p := start(t, binary, args...)
		if code := p.wait(t, 10*time.Second); code != 2 {
			t.Errorf("%v: exit code %d, want 2", args, code)
		}
		out := p.Output()
		if strings.Count(out, "\n") != 1 || strings.Contains(out, "goroutine") || !strings.HasPrefix(out, "klayslave: ") {
			t.Errorf("%v: output %q, want one 'klayslave: ...' line", args, out)
		}
	}
}
