package tc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// rpcPing POSTs a klay_blockNumber JSON-RPC call to the main-chain endpoint.
// A transport error, a non-200 status or a JSON-RPC error is a failure.
func rpcPing() Case {
	return Case{
		Name:        "rpcPing",
		Description: "POSTs klay_blockNumber to -mcEndpoint; no account needed",
		New: func(_ context.Context, env *Env) (Task, error) {
			url := env.MCEndpoint
			client := env.HTTP
			if client == nil {
				client = http.DefaultClient
			}
			body := []byte(`{"jsonrpc":"2.0","id":1,"method":"klay_blockNumber","params":[]}`)
			return TaskFunc(func(ctx context.Context, it runner.Iteration, out stats.Sink) {
				n, err := postRPC(ctx, client, url, body)
				r := it.Result("POST", "rpcPing", stopped(ctx, err))
				r.Bytes = n
				out.Record(r)
			}), nil
		},
	}
}

func postRPC(ctx context.Context, client *http.Client, url string, body []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return int64(len(data)), fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var msg struct {
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &msg); err != nil {
		return int64(len(data)), errors.New("response is not JSON-RPC")
	}
	if msg.Error != nil {
		return int64(len(data)), fmt.Errorf("rpc error %d: %s", msg.Error.Code, msg.Error.Message)
	}
	return int64(len(data)), nil
}
