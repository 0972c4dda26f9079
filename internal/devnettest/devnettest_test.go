package devnettest

import (
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// outcomeTB records how Load ended: Fatalf and Skipf stop the goroutine,
// as the real ones do.
type outcomeTB struct {
	testing.TB
	fatal, skip bool
	msg         string
}

func (o *outcomeTB) Helper() {}
func (o *outcomeTB) Fatalf(f string, a ...any) {
	o.fatal, o.msg = true, fmt.Sprintf(f, a...)
	runtime.Goexit()
}
func (o *outcomeTB) Skipf(f string, a ...any) {
	o.skip, o.msg = true, fmt.Sprintf(f, a...)
	runtime.Goexit()
}

func runLoad(t *testing.T) (*Net, *outcomeTB) {
	o := &outcomeTB{TB: t}
	var n *Net
	done := make(chan struct{})
	go func() {
		defer close(done)
		n = Load(o)
	}()
	<-done
	return n, o
}

// fakeNode answers klay_chainId with id.
func fakeNode(t *testing.T, id int64) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"result":"0x%x"}`, id)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func writeNet(t *testing.T, mcURL, scURL string) string {
	var keys []string
	for i := 2; i < 2+MinSpare; i++ {
		keys = append(keys, fmt.Sprintf("%q", fmt.Sprintf("k%d", i)))
	}
	spare := strings.Join(keys, ",")
	data := fmt.Sprintf(`{"mainChain":{"rpc":%q,"chainId":1000},"serviceChain":{"rpc":%q,"chainId":2000},
		"devKeys":{"mcFunder":"k0","scFunder":"k1","spare":[%s]}}`, mcURL, scURL, spare)
	p := filepath.Join(t.TempDir(), "network.json")
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// notANode answers every request with 404.
func notANode(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(s.Close)
	return s.URL
}

// closedURL is an http URL nothing listens on.
func closedURL(t *testing.T) string {
	s := httptest.NewServer(http.NotFoundHandler())
	u := s.URL
	s.Close()
	return u
}

func TestLoad(t *testing.T) {
	good := writeNet(t, fakeNode(t, 1000), fakeNode(t, 2000))
	cases := []struct {
		name, path, require string
		want                string // "ok", "skip" or "fatal"
		msg                 string // part of the one-line message
	}{
		{"unset", "", "", "skip", EnvDevnet + " is unset"},
		{"unset, required", "", "1", "fatal", EnvRequire + " is set"},
		{"no file", "/nonexistent/network.json", "", "skip", "does not exist"},
		{"no file, required", "/nonexistent/network.json", "1", "fatal", "does not exist"},
		{"nodes down", writeNet(t, closedURL(t), closedURL(t)), "", "skip", "main chain"},
		{"nodes down, required", writeNet(t, closedURL(t), closedURL(t)), "1", "fatal", "main chain"},
		{"wrong chain id", writeNet(t, fakeNode(t, 1000), fakeNode(t, 7)), "", "fatal", "chain id 7"},
		{"not a node", writeNet(t, fakeNode(t, 1000), notANode(t)), "", "fatal", "HTTP 404"},
		{"up", good, "1", "ok", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(EnvDevnet, c.path)
			t.Setenv(EnvRequire, c.require)
			n, o := runLoad(t)
			got := "ok"
			if o.fatal {
				got = "fatal"
			} else if o.skip {
				got = "skip"
			}
			if got != c.want || !strings.Contains(o.msg, c.msg) || strings.Contains(o.msg, "\n") {
				t.Fatalf("got %s %q, want %s with %q on one line", got, o.msg, c.want, c.msg)
			}
			if c.want == "ok" {
				if n.Path != good || n.MainChain.ChainID.Cmp(big.NewInt(1000)) != 0 || n.ServiceChain.SubbridgeRPC != n.ServiceChain.RPC || len(n.DevKeys.Spare) != MinSpare {
					t.Fatalf("loaded %+v", n)
				}
			}
		})
	}
}

// FuzzParse: network.json comes from another program; parse must not
// panic, and what it accepts must be usable without further checks.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"mainChain":{"rpc":"http://a","chainId":1},"serviceChain":{"rpc":"http://b","chainId":2},"devKeys":{"mcFunder":"x","scFunder":"y","spare":["1","2","3","4","5","6"]}}`))
	f.Add([]byte(`{"mainChain":{"chainId":-1}}`))
	f.Add([]byte(`{"bridge":{"mainBridge":"0x12"}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parse(data)
		if err != nil {
			return
		}
		for _, c := range []Chain{n.MainChain, n.ServiceChain} {
			if c.ChainID == nil || c.ChainID.Sign() <= 0 || c.RPC == "" || c.SubbridgeRPC == "" {
				t.Fatalf("accepted an unusable chain %+v", c)
			}
		}
		if len(n.DevKeys.Spare) < MinSpare {
			t.Fatalf("accepted %d spare keys", len(n.DevKeys.Spare))
		}
	})
}

// FuzzDecodeChainID: a node's answer must never panic the decoder, and an
// accepted answer has a chain id.
func FuzzDecodeChainID(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":"0x3e8"}`))
	f.Add([]byte(`{"error":{"code":-32601,"message":"the method\nklay_chainId does not exist"}}`))
	f.Add([]byte(`{"result":null}`))
	f.Add([]byte(`<html>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := decodeChainID(data)
		if err == nil && id == nil {
			t.Fatal("no error and no chain id")
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("error on several lines: %q", err)
		}
	})
}
