// Package e2e runs the built klayslave binary against real peers: the Locust
// 2.12.1 master from Debian's python3-locust and, where a test needs a chain,
// the Kaia devnet started by `make test` (KLAYSLAVE_DEVNET).
package e2e

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// binary is the klayslave binary built once for the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "klayslave-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "klayslave")
	build := exec.Command("go", "build", "-race", "-o", binary, "../cmd/klayslave")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building klayslave:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopOwnNet()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sink is a JSON-RPC endpoint that fails every failEvery-th request with
// HTTP 500 (never, if failEvery is 0).
type sink struct {
	*httptest.Server
	n, failed atomic.Int64
}

func newSink(t *testing.T, failEvery int64) *sink {
	s := &sink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n := s.n.Add(1); failEvery > 0 && n%failEvery == 0 {
			s.failed.Add(1)
			http.Error(w, "injected failure", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x10"}`)
	}))
	t.Cleanup(s.Close)
	return s
}

func requireLocust(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("locust"); err != nil {
		if os.Getenv("KLAYSLAVE_REQUIRE_LOCUST") != "" {
			t.Fatal("locust is not installed (apt-get install -y python3-locust)")
		}
		t.Skip("locust is not installed; apt-get install -y python3-locust to run this test")
	}
}

// proc is a started process whose combined output is kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, name, args...)
}

// startEnv starts name with extra environment variables (keys go there, not
// in the arguments, as users are told to do).
func startEnv(t *testing.T, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- output of %s %v:\n%s", name, args, p.Output())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		t.Fatalf("%v did not exit within %v", p.cmd.Args, limit)
		return -1
	}
}

// waitFor polls the output until re matches, and returns the submatches.
func (p *proc) waitFor(t *testing.T, re string, limit time.Duration) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if m := rx.FindStringSubmatch(p.Output()); m != nil {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %q in the output of %v within %v", re, p.cmd.Args, limit)
	return nil
}

func writeLocustfile(t *testing.T, dir string) string {
	t.Helper()
	src, err := os.ReadFile("../dist/locustfile.py")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "locustfile.py")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startMaster runs a headless Locust master on 127.0.0.1:port.
func startMaster(t *testing.T, dir string, port int, csvPrefix string, extra ...string) *proc {
	args := append([]string{"-f", writeLocustfile(t, dir), "--master", "--headless",
		"--master-bind-host", "127.0.0.1", "--master-bind-port", strconv.Itoa(port),
		"--web-host", "127.0.0.1", "--web-port", strconv.Itoa(freePort(t)),
		"--csv", csvPrefix}, extra...)
	return start(t, "locust", args...)
}

// csvRow returns the row of a Locust CSV file whose column col equals value.
func csvRow(t *testing.T, path, col, value string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		if m[col] == value {
			return m
		}
	}
	t.Fatalf("%s has no row with %s=%q: %v", path, col, value, rows)
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// sent parses the worker's closing log line: how many requests it recorded.
func sent(t *testing.T, p *proc) (requests, failures int64) {
	m := p.waitFor(t, `worker finished" iterations=(\d+) failures=(\d+)`, 10*time.Second)
	return atoi(t, m[1]), atoi(t, m[2])
}
