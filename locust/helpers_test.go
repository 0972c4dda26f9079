package locust

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"net"
	"sync"
	"testing"
	"time"
)

// fakeUsers records every Spawn and keeps the counts.
type fakeUsers struct {
	mu      sync.Mutex
	counts  map[string]int
	history []map[string]int // every Spawn call, in order
	stops   int
}

func newFakeUsers() *fakeUsers { return &fakeUsers{counts: map[string]int{}} }

func (u *fakeUsers) Spawn(counts map[string]int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts = maps.Clone(counts)
	u.history = append(u.history, maps.Clone(counts))
}

func (u *fakeUsers) Stop(context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts = map[string]int{}
	u.stops++
}

func (u *fakeUsers) Counts() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return maps.Clone(u.counts)
}

func (u *fakeUsers) UserCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.counts {
		n += c
	}
	return n
}

func (u *fakeUsers) spawns() []map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]map[string]int(nil), u.history...)
}

// waitUsers waits until the running user count is n.
func (u *fakeUsers) waitUsers(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() bool { return u.UserCount() == n }, "fake users to reach %d (have %d)", n, u.UserCount())
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a goroutine-safe bytes.Buffer for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger logs everything (debug included) to buf; tests print buf on failure or with -v.
func testLogger(t *testing.T, buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
