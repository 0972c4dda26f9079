package klay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// One call is bounded by the client's call timeout even when the caller's
// context allows minutes: a node that takes the connection and never
// answers costs a sweep one timeout, not its whole budget.
func TestCallBoundedUnderLongContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, err := Dial(context.Background(), srv.URL, 4)
	if err != nil {
		t.Fatal(err)
	}
	c.callTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var out string
	if err := c.Call(ctx, &out, "klay_gasPrice"); err == nil {
		t.Fatal("a call the node never answered succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the call took %s under a 1-minute context, want about its 200 ms timeout", d)
	}
	start = time.Now()
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := c.CallWithin(short, time.Minute, &out, "klay_gasPrice"); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("CallWithin under a 50 ms context: %v after %s", err, time.Since(start))
	}
}
