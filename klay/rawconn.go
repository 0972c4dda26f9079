package klay

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/klayslave/klayslave/jsonrpc"
)

// rawConns posts the send path's batches over plain HTTP/1.1 on
// keep-alive connections of its own, each used by one request at a time
// in the caller's goroutine. net/http's transport runs a reader and a
// writer goroutine per connection and hands every request and answer
// between them and the caller: at a batch per few milliseconds that
// hand-off cost klayslave more CPU than the batch's JSON. The answer is
// still parsed by net/http (http.ReadResponse), chunked or not.
type rawConns struct {
	addr   string // host:port to dial
	header []byte // request line and headers up to Content-Length's value
	url    string // for messages

	mu   sync.Mutex
	idle []*rawConn
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
}

// maxIdleRawConns bounds the idle connections kept: rawBatchSlots are in
// use at once.
const maxIdleRawConns = 4

func newRawConns(u *url.URL) *rawConns {
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	h := "POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUser-Agent: klayslave\r\nContent-Type: application/json\r\n"
	if u.User != nil {
		pw, _ := u.User.Password()
		h += "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
	}
	return &rawConns{addr: addr, header: []byte(h + "Content-Length: "), url: u.Redacted()}
}

// errRawStale: a kept connection the node had closed; nothing was answered.
var errRawStale = errors.New("kept connection closed by the node")

// do posts body and returns the answer's body, of at most limit bytes. A
// request on a kept connection that the node had meanwhile closed is sent
// once more on a new one, as net/http does: the node answered nothing on
// the old one.
func (p *rawConns) do(ctx context.Context, body []byte, limit int) ([]byte, error) {
	for {
		c, reused, err := p.get(ctx)
		if err != nil {
			return nil, err
		}
		data, keep, err := p.roundTrip(ctx, c, body, limit)
		if keep && err == nil {
			p.put(c)
		} else {
			_ = c.c.Close()
		}
		if errors.Is(err, errRawStale) && reused && ctx.Err() == nil {
			continue
		}
		if errors.Is(err, errRawStale) {
			err = io.ErrUnexpectedEOF
		}
		return data, err
	}
}

func (p *rawConns) get(ctx context.Context) (*rawConn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, fmt.Errorf("post to %s: %w", p.url, err)
	}
	return &rawConn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, false, nil
}

func (p *rawConns) put(c *rawConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= maxIdleRawConns {
		_ = c.c.Close()
		return
	}
	p.idle = append(p.idle, c)
}

// roundTrip writes one request and reads its answer. keep says whether
// the connection may carry another request.
func (p *rawConns) roundTrip(ctx context.Context, c *rawConn, body []byte, limit int) (data []byte, keep bool, err error) {
	// The context bounds the exchange through the connection's deadline,
	// and a cancel ends it at once.
	dl, _ := ctx.Deadline()
	if err := c.c.SetDeadline(dl); err != nil {
		return nil, false, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	hdr := strconv.AppendInt(append(make([]byte, 0, len(p.header)+24), p.header...), int64(len(body)), 10)
	hdr = append(hdr, "\r\n\r\n"...)
	bufs := net.Buffers{hdr, body}
	if _, err := bufs.WriteTo(c.c); err != nil {
		return nil, false, p.failed(ctx, err)
	}
	if _, err := c.br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return nil, false, errRawStale
		}
		return nil, false, p.failed(ctx, err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, false, p.failed(ctx, err)
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	if size > int64(limit) {
		size = -1 // not believed: the limit below ends the read
	}
	buf, err := jsonrpc.ReadAll(io.LimitReader(resp.Body, int64(limit)+1), nil, size)
	if err != nil {
		return nil, false, p.failed(ctx, err)
	}
	if len(buf) > limit {
		return nil, false, fmt.Errorf("answer from %s over %d bytes", p.url, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, !resp.Close, fmt.Errorf("HTTP %d from %s", resp.StatusCode, p.url)
	}
	return buf, !resp.Close, nil
}

// failed names the context's error when it cut the exchange short.
func (p *rawConns) failed(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The only deadline set is the context's, whose own timer may
		// fire a moment after the connection's.
		err = context.DeadlineExceeded
	}
	return fmt.Errorf("post to %s: %w", p.url, err)
}

// isReset reports a connection the peer reset.
func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
