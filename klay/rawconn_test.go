package klay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func rawConnsTo(t *testing.T, h http.HandlerFunc, state ...func(net.Conn, http.ConnState)) (*rawConns, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if len(state) > 0 {
		srv.Config.ConnState = state[0]
	}
	srv.Start()
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL + "/rpc?x=1")
	if err != nil {
		t.Fatal(err)
	}
	return newRawConns(u), srv
}

// The hand-made request is one net/http's server reads as sent, and the
// answer comes back whole, with Content-Length or chunked.
func TestRawConnsRoundTrip(t *testing.T) {
	var dials atomic.Int32
	p, _ := rawConnsTo(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.RequestURI() != "/rpc?x=1" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request line or headers", http.StatusBadRequest)
			return
		}
		if string(body) == "chunked" {
			for i := range 3 {
				_, _ = io.WriteString(w, strings.Repeat(string(rune('a'+i)), 5000))
				w.(http.Flusher).Flush()
			}
			return
		}
		_, _ = w.Write(append([]byte("echo:"), body...))
	}, func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	})
	ctx := context.Background()
	for i := range 3 {
		got, err := p.do(ctx, []byte(`{"n":1}`), maxRawAnswer)
		if err != nil || string(got) != `echo:{"n":1}` {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	got, err := p.do(ctx, []byte("chunked"), maxRawAnswer)
	want := strings.Repeat("a", 5000) + strings.Repeat("b", 5000) + strings.Repeat("c", 5000)
	if err != nil || string(got) != want {
		t.Fatalf("chunked answer: %d bytes, %v", len(got), err)
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d connections for 4 requests in turn, want 1 kept alive", n)
	}
}

// A kept connection the node closed meanwhile is replaced, and the request
// goes out once more on a new one.
func TestRawConnsStaleConnection(t *testing.T) {
	var calls atomic.Int32
	p, srv := rawConnsTo(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.WriteString(w, "ok")
	})
	ctx := context.Background()
	if _, err := p.do(ctx, []byte("1"), maxRawAnswer); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	if got, err := p.do(ctx, []byte("2"), maxRawAnswer); err != nil || string(got) != "ok" {
		t.Fatalf("after the node closed the kept connection: %q, %v", got, err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("the node saw %d requests, want 2", n)
	}
}

// A node that does not answer is left when the context ends, not later;
// an HTTP error status is an error naming it.
func TestRawConnsBounded(t *testing.T) {
	release := make(chan struct{})
	p, _ := rawConnsTo(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Never") == "" {
			if b, _ := io.ReadAll(r.Body); string(b) == "slow" {
				<-release
				return
			}
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.do(ctx, []byte("slow"), maxRawAnswer)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("unanswered request: %v after %s", err, time.Since(start))
	}
	if _, err := p.do(context.Background(), []byte("x"), maxRawAnswer); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("503: %v", err)
	}
}
