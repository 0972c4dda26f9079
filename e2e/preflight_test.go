package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klayslave/klayslave/internal/devnettest"
)

// Every pre-flight failure the seed's troubleshooting list describes, for
// real, through the binary: one line that names the URL or address and the
// fix, exit code 2, and never the key.
func TestPreflightFailures(t *testing.T) {
	d := devnettest.Load(t)
	var fresh [32]byte
	_, _ = rand.Read(fresh[:])
	emptyKey := hex.EncodeToString(fresh[:])

	// A node without the klay namespace: only rpc_modules answers.
	noKlay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "rpc_modules") {
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":{"eth":"1.0","net":"1.0"}}`)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method does not exist/is not available"}}`)
	}))
	defer noKlay.Close()

	mc, sc := d.MainChain.RPC, d.ServiceChain.RPC
	cases := []struct {
		name string
		key  string
		args []string
		want []string
	}{
		{"closed port", d.DevKeys.Spare[0], []string{"-mcEndpoint", "http://127.0.0.1:" + itoa(freePort(t)), "-scEndpoint", sc},
			[]string{"main chain endpoint http://127.0.0.1:", "not reachable", "-mcEndpoint"}},
		{"bad key", "not-a-key-0123", []string{"-mcEndpoint", mc, "-scEndpoint", sc},
			[]string{"$KLAYSLAVE_MC_KEY", "not 32-byte hex"}},
		{"empty funder", emptyKey, []string{"-mcEndpoint", mc, "-scEndpoint", sc},
			[]string{"has 0 KLAY but needs", "send KLAY to 0x"}},
		{"wrong chain id", d.DevKeys.Spare[0], []string{"-mcEndpoint", mc, "-scEndpoint", sc, "-mcChainId", "9999"},
			[]string{mc, "2018", "9999"}},
		{"no klay namespace", d.DevKeys.Spare[0], []string{"-mcEndpoint", noKlay.URL, "-scEndpoint", sc},
			[]string{noKlay.URL, `"klay"`, "--rpcapi"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logDir := t.TempDir()
			p := startEnv(t, []string{"KLAYSLAVE_MC_KEY=" + c.key, "KLAYSLAVE_SC_KEY=" + d.DevKeys.Spare[0]},
				binary, append([]string{"run", "-tc=mcValueTransferTc", "-numScUser", "0", "-log-dir", logDir}, c.args...)...)
			if code := p.wait(t, 60*time.Second); code != 2 {
				t.Fatalf("exit code %d, want 2; output:\n%s", code, p.Output())
			}
			lines := strings.Split(strings.TrimSpace(p.Output()), "\n")
			last := lines[len(lines)-1]
			for _, w := range c.want {
				if !strings.Contains(last, w) {
					t.Errorf("last line %q lacks %q", last, w)
				}
			}
			assertNoKey(t, c.key, p.Output(), logDir)
		})
	}
}

// assertNoKey fails if the hex of key is in out, in a file name under dir or
// in a file's contents.
func assertNoKey(t *testing.T, key, out, dir string) {
	t.Helper()
	key = strings.TrimPrefix(strings.ToLower(key), "0x")
	if len(key) < 16 {
		return // not a key, just bad input
	}
	if strings.Contains(strings.ToLower(out), key) {
		t.Errorf("a key appears in the output")
	}
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if strings.Contains(strings.ToLower(path), key) {
			t.Errorf("a key appears in the file name %s", path)
		}
		if !info.IsDir() {
			if b, err := os.ReadFile(path); err == nil && strings.Contains(strings.ToLower(string(b)), key) {
				t.Errorf("a key appears in the file %s", path)
			}
		}
		return nil
	})
}
