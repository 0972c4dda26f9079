// Package jsonrpc is the read cases' JSON-RPC fast path: requests are
// pre-encoded bytes (or appended into a reused buffer), responses are read
// into pooled buffers, and the answer is found by a small scanner instead of
// a reflection-based decode. A read's cost then stays close to a bare
// net/http round trip, so that what klayslave measures is the node.
package jsonrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// NewTransport returns a transport that keeps up to conns connections open
// to each host, so that conns users never redial.
func NewTransport(conns int) *http.Transport {
	conns = max(conns, 4)
	return &http.Transport{
		Proxy:               nil, // all traffic is meant for the given URL
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		// Compression costs CPU on both ends for small local answers, and
		// a transparently gunzipped body cannot be read into our buffer
		// with a known length.
		DisableCompression: true,
	}
}

// Client posts JSON-RPC requests to one endpoint. It is safe for concurrent
// use.
type Client struct {
	url  *url.URL
	http *http.Client
	// header is shared read-only by every request.
	header http.Header
	bufs   sync.Pool
}

// New returns a client of endpoint over hc (http.DefaultClient when nil).
func New(endpoint string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("JSON-RPC endpoint %q: want http://host:port or https://host:port", endpoint)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	if tr, ok := hc.Transport.(*http.Transport); ok && hc.Timeout > 0 {
		// A client-wide Timeout costs every request a deadline context,
		// registered with (and removed from) the iteration's context under
		// its lock: with hundreds of users that lock is contended. The
		// transport's header timeout bounds the wait for an answer without
		// it; the body of a small answer follows its headers, and a stop
		// cancels the call in any case.
		tr = tr.Clone()
		tr.ResponseHeaderTimeout = hc.Timeout
		tr.DisableCompression = true // as NewTransport
		hc = &http.Client{Transport: tr, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar}
	}
	c := &Client{url: u, http: hc, header: http.Header{"Content-Type": {"application/json"}}}
	c.bufs.New = func() any { return &Buffer{B: make([]byte, 0, 4096)} }
	return c, nil
}

// URL returns the endpoint.
func (c *Client) URL() string { return c.url.String() }

// Buffer is a reusable byte buffer: a request body is appended into B, or
// a response read into it.
type Buffer struct{ B []byte }

// Get returns a buffer from the client's pool; give it back with Put.
func (c *Client) Get() *Buffer { return c.bufs.Get().(*Buffer) }

// Put returns a buffer to the pool. Large buffers (a block with many
// transactions) are dropped, so that the pool does not keep them all.
func (c *Client) Put(b *Buffer) {
	if cap(b.B) > 1<<20 {
		return
	}
	b.B = b.B[:0]
	c.bufs.Put(b)
}

// Error is a JSON-RPC error answer.
type Error struct {
	Code    int64
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

// Check judges a call's result: the raw JSON of the "result" member. It
// must not keep result: the buffer is reused once it returns.
type Check func(result []byte) error

// Call posts body and passes the answer's result to check. It returns the
// size of the answer and the first error: transport, HTTP status, a
// JSON-RPC error, or check's.
func (c *Client) Call(ctx context.Context, body []byte, check Check) (int64, error) {
	buf := c.Get()
	defer c.Put(buf)
	n, result, err := c.Do(ctx, body, buf)
	if err != nil {
		return n, err
	}
	if check != nil {
		err = check(result)
	}
	return n, err
}

// Do posts body and reads the answer into buf; result is the raw JSON of its
// "result" member, valid until buf is reused.
func (c *Client) Do(ctx context.Context, body []byte, buf *Buffer) (n int64, result []byte, err error) {
	req := &http.Request{
		Method:     http.MethodPost,
		URL:        c.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     c.header,
		// An in-memory reader that net/http knows: it then writes headers
		// and body in one go. Any other reader makes it flush the headers
		// first: two writes, two packets, two reads on the node's side.
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          c.url.Host,
		// The transport may retry a request on a connection the server
		// closed; GetBody lets it replay the body.
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
	resp, err := c.http.Do(req.WithContext(ctx))
	if err != nil {
		return 0, nil, err
	}
	buf.B, err = ReadAll(resp.Body, buf.B[:0], resp.ContentLength)
	resp.Body.Close()
	n = int64(len(buf.B))
	if err != nil {
		return n, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	result, err = Result(buf.B)
	return n, result, err
}

// ReadAll appends the whole of r to dst, growing it once when the length
// is known (give -1 when it is not).
func ReadAll(r io.Reader, dst []byte, length int64) ([]byte, error) {
	if length > 0 && int64(cap(dst)-len(dst)) < length+1 {
		dst = append(make([]byte, 0, int64(len(dst))+length+1), dst...)
	}
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// ErrNotJSONRPC is an answer that is not a JSON-RPC response object.
var ErrNotJSONRPC = errors.New("answer is not a JSON-RPC response")

// Result returns the raw JSON of the "result" member of a JSON-RPC answer,
// or its "error" as an *Error.
func Result(answer []byte) ([]byte, error) {
	res, ok := Field(answer, "result")
	if ok {
		return res, nil
	}
	if e, ok := Field(answer, "error"); ok && !bytes.Equal(e, []byte("null")) {
		re := &Error{}
		if code, ok := Field(e, "code"); ok {
			re.Code, _ = strconv.ParseInt(string(code), 10, 64)
		}
		if msg, ok := Field(e, "message"); ok {
			re.Message, _ = String(msg)
		}
		return nil, re
	}
	return nil, ErrNotJSONRPC
}

// Body encodes a request with the given method and params, already
// JSON-encoded: Body("klay_getBalance", `"0xab…"`, `"latest"`).
func Body(method string, params ...string) []byte {
	b := append([]byte(`{"jsonrpc":"2.0","id":1,"method":"`), method...)
	b = append(b, `","params":[`...)
	for i, p := range params {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p...)
	}
	return append(b, "]}"...)
}
