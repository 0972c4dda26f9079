package klay

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// lockedBuffer is a log file: not a terminal.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Written to a file, progress is a log line every interval, never a bar's
// carriage-return frames.
func TestProgressOffATerminalLogsLines(t *testing.T) {
	var out lockedBuffer
	p := newProgress(&out, 10, "funding main chain", nil, 20*time.Millisecond)
	_ = p.Add(3)
	waitUntil(t, "a progress line", func() bool { return strings.Contains(out.String(), "done=3 of=10") })
	_ = p.Add(7)
	_ = p.Finish()
	got := out.String()
	if strings.ContainsAny(got, "\r\x1b") || !strings.Contains(got, `msg="funding main chain"`) {
		t.Fatalf("log lines hold a bar's frames or lack the label: %q", got)
	}
}

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// On a terminal, progress is the bar, redrawn in place.
func TestProgressOnATerminalDrawsTheBar(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()
	var screen lockedBuffer
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(&screen, master); close(copied) }()

	p := newProgress(slave, 4, "sweeping main chain", nil, time.Hour)
	if p.bar == nil {
		t.Fatal("a terminal got no bar")
	}
	for range 4 {
		_ = p.Add(1)
	}
	_ = p.Finish()
	waitUntil(t, "a finished bar on the terminal", func() bool { return strings.Contains(screen.String(), "4/4") })
	slave.Close()
	got := screen.String()
	if !strings.Contains(got, "\r") || !strings.Contains(got, "sweeping main chain") || strings.Contains(got, "level=INFO") {
		t.Fatalf("terminal output is not a bar: %q", got)
	}
}

func TestProgressToNowhereShowsNothing(t *testing.T) {
	p := newProgress(nil, 3, "x", nil, time.Millisecond)
	_ = p.Add(3)
	if err := p.Finish(); err != nil {
		t.Fatal(err)
	}
}
