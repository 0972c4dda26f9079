package klay

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/jsonrpc"
)

// rawPoster sends klay_sendRawTransaction calls over HTTP with a request
// body written by hand. Kaia's RPC client marshals each argument, then the
// message, then compacts the result again through reflection: for a batch
// of transactions that was a tenth of a transfer's whole cost to
// klayslave.
type rawPoster struct {
	url string
	// do sends one request body and returns the answer's body, of at
	// most limit bytes.
	do func(ctx context.Context, body []byte, limit int) ([]byte, error)
}

// newRawPoster posts to rawurl: over plain HTTP on connections of its own
// (rawConns), else, as for https, through hc.
func newRawPoster(rawurl string, hc *http.Client) (*rawPoster, error) {
	u, err := url.Parse(rawurl)
	if err != nil {
		return nil, err
	}
	p := &rawPoster{url: rawurl}
	if u.Scheme == "http" {
		p.do = newRawConns(u).do
	} else {
		p.do = (&stdPoster{http: hc, url: rawurl}).do
	}
	return p, nil
}

// maxRawAnswer bounds the answer to one batch: rawBatchMax answers of a
// hash or an error message each.
const maxRawAnswer = 1 << 20

var rawBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// jsonRPCError is a node's JSON-RPC error; it satisfies rpc.Error, as the
// RPC client's own errors do, so ClassifySendError reads it alike.
type jsonRPCError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *jsonRPCError) Error() string  { return e.Message }
func (e *jsonRPCError) ErrorCode() int { return e.Code }

// errNoAnswer: the node's answer to a batch left this call out.
var errNoAnswer = errors.New("no answer to this transaction in the node's batch answer")

// post sends calls (one as a plain call, more as a batch whose ids are
// their indexes) and sets each call's hash or error. The error it returns
// is the request's: every call failed with it.
func (p *rawPoster) post(ctx context.Context, calls []*rawCall) error {
	body := rawBodies.Get().(*bytes.Buffer)
	defer rawBodies.Put(body)
	body.Reset()
	if len(calls) > 1 {
		body.WriteByte('[')
	}
	for i, c := range calls {
		if i > 0 {
			body.WriteByte(',')
		}
		body.WriteString(`{"jsonrpc":"2.0","id":`)
		body.WriteString(strconv.Itoa(i))
		body.WriteString(`,"method":"klay_sendRawTransaction","params":["0x`)
		body.Write(hex.AppendEncode(body.AvailableBuffer(), c.raw))
		body.WriteString(`"]}`)
	}
	if len(calls) > 1 {
		body.WriteByte(']')
	}
	data, err := p.do(ctx, body.Bytes(), maxRawAnswer)
	if err != nil {
		return err
	}
	return answerCalls(data, calls, p.url)
}

// answerResult returns the result of one JSON-RPC answer (raw, possibly
// null), or the node's error as a *jsonRPCError (an rpc.Error), read by a
// scan for the two members rather than a decode.
func answerResult(a []byte, url string) (json.RawMessage, error) {
	if raw, ok := jsonrpc.Field(a, "error"); ok && string(raw) != "null" {
		e := new(jsonRPCError)
		if json.Unmarshal(raw, e) != nil {
			e.Message = fmt.Sprintf("malformed JSON-RPC error from %s", url)
		}
		return nil, e
	}
	raw, ok := jsonrpc.Field(a, "result")
	if !ok {
		return nil, fmt.Errorf("JSON-RPC answer from %s with neither result nor error", url)
	}
	return raw, nil
}

// stdPoster posts through net/http.
type stdPoster struct {
	http *http.Client
	url  string
}

func (p *stdPoster) do(ctx context.Context, body []byte, limit int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("answer from %s over %d bytes", p.url, limit)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d from %s", resp.StatusCode, p.url)
	}
	return data, nil
}

// answerCalls sets each call's hash or error from the node's answer. It
// scans the answer for the few members it needs (jsonrpc.Field) rather
// than decoding it through reflection: with a batch per few milliseconds at
// saturation, the decode was a tenth of the send's cost.
func answerCalls(data []byte, calls []*rawCall, url string) error {
	var answers [][]byte
	if len(calls) == 1 {
		answers = [][]byte{data}
		if _, ok := jsonrpc.Field(data, "jsonrpc"); !ok {
			return fmt.Errorf("malformed JSON-RPC answer from %s", url)
		}
	} else {
		var ok bool
		if answers, ok = jsonrpc.Elements(data); !ok {
			return fmt.Errorf("malformed JSON-RPC batch answer from %s", url)
		}
	}
	answered := make([]bool, len(calls))
	for _, a := range answers {
		i := 0
		if len(calls) > 1 {
			id, ok := jsonrpc.Field(a, "id")
			n, err := strconv.Atoi(string(id))
			if !ok || err != nil || n < 0 || n >= len(calls) {
				continue // not an id we asked for
			}
			i = n
		}
		if answered[i] {
			continue // asked once, answered twice
		}
		answered[i] = true
		raw, err := answerResult(a, url)
		if err == nil && string(raw) == "null" {
			err = fmt.Errorf("JSON-RPC answer from %s with a null hash", url)
		}
		if err != nil {
			calls[i].err = err
			continue
		}
		d, err := jsonrpc.Hex(raw, common.HashLength)
		if err != nil {
			calls[i].err = fmt.Errorf("malformed transaction hash in the answer from %s", url)
			continue
		}
		if _, err := hex.Decode(calls[i].hash[:], d); err != nil {
			calls[i].err = fmt.Errorf("malformed transaction hash in the answer from %s", url)
		}
	}
	for i, ok := range answered {
		if !ok {
			calls[i].err = errNoAnswer
		}
	}
	return nil
}
