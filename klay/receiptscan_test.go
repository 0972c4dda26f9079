package klay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/jsonrpc"
)

// slowBlockReceipt is what decodeBlockReceipts did for every entry before
// scanBlockReceipt: encoding/json into blockReceipt.
func slowBlockReceipt(e []byte) (r *Receipt, bh *common.Hash, skip bool, err error) {
	var br *blockReceipt
	if err := json.Unmarshal(e, &br); err != nil {
		return nil, nil, false, err
	}
	if br == nil || br.BlockNumber == nil {
		return nil, nil, true, nil
	}
	return br.receipt(), br.BlockHash, false, nil
}

// sameReceipt says how a and b differ, "" if they do not.
func sameReceipt(a, b *Receipt) string {
	bigEq := func(x, y *big.Int) bool { return (x == nil) == (y == nil) && (x == nil || x.Cmp(y) == 0) }
	addrEq := func(x, y *common.Address) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	switch {
	case a.TxHash != b.TxHash, a.BlockNumber != b.BlockNumber, a.From != b.From, a.Status != b.Status,
		a.TxError != b.TxError, a.GasUsed != b.GasUsed:
		return fmt.Sprintf("fields %+v, want %+v", a, b)
	case !addrEq(a.To, b.To), !addrEq(a.ContractAddress, b.ContractAddress):
		return "to or contractAddress"
	case !bigEq(a.GasPrice, b.GasPrice), !bigEq(a.EffectiveGasPrice, b.EffectiveGasPrice):
		return "gasPrice or effectiveGasPrice"
	case (a.Logs == nil) != (b.Logs == nil) || len(a.Logs) != len(b.Logs):
		return fmt.Sprintf("logs %v, want %v", a.Logs, b.Logs)
	}
	return ""
}

// checkReceiptScan fails t when scanBlockReceipt answers e and
// encoding/json disagrees; it reports whether the scan answered.
func checkReceiptScan(t *testing.T, e []byte) bool {
	t.Helper()
	r, bh, skip, ok := scanBlockReceipt(e)
	if !ok {
		return false
	}
	sr, sbh, sskip, err := slowBlockReceipt(e)
	if err != nil {
		t.Fatalf("the scan took %q, encoding/json refused it: %v", e, err)
	}
	if skip != sskip {
		t.Fatalf("%q: the scan skips it %v, encoding/json %v", e, skip, sskip)
	}
	if skip {
		return true
	}
	if (bh == nil) != (sbh == nil) || (bh != nil && *bh != *sbh) {
		t.Fatalf("%q: block hash %v, want %v", e, bh, sbh)
	}
	if d := sameReceipt(r, sr); d != "" {
		t.Fatalf("%q: %s", e, d)
	}
	return true
}

// Receipts as Kaia sends them take the fast way, and it decodes them as
// encoding/json does; the forms it leaves to encoding/json go there.
func TestReceiptScanAgreesWithEncodingJSON(t *testing.T) {
	for _, name := range []string{"receipts_txs.json", "eth_receipts_txs.json"} {
		elems, ok := jsonrpc.Elements(readTestdata(t, name))
		if !ok || len(elems) == 0 {
			t.Fatalf("%s: not a list of receipts", name)
		}
		for i, e := range elems {
			if !checkReceiptScan(t, e) {
				t.Fatalf("%s entry %d: a node's plain receipt went the slow way", name, i)
			}
		}
	}
	plain := string(readFirstReceipt(t))
	for _, slow := range []string{
		`{"blockNumber":"0x01","transactionHash":"0x00"}`,  // leading zero
		`{"Status":"0x1","blockNumber":"0x1"}`,             // another spelling of a key
		`{"blockNumber":"0x1","logs":[{"address":"0x1"}]}`, // logs
		`{"blockNumber":"\u0030x1"}`,                       // an escape
		`{"blockNumber":"0x1","x":tru}`,                    // not JSON
		`{"blockNumber":"0x1","status":null}`,              // null where encoding/json errs
		`{"blockNumber":"0x1","gasPrice":"0x10000000000000000000000000000000000000000000000000000000000000000"}`, // 257 bits
		plain[:len(plain)-1] + `,"s\u0074atus":"0x0"}`,
	} {
		if _, _, _, ok := scanBlockReceipt([]byte(slow)); ok {
			t.Errorf("%s: taken by the fast way", slow)
		}
	}
	for _, fast := range []string{`null`, `{}`, `{"blockNumber":null}`, `{"blockNumber":"0x0","to":null,"logs":null,"txError":"0x9","gasPrice":"0x10000000000000000"}`,
		`{"blockNumber":"0x1","x":"a\u0041","y":[1,{"z":null}]}`} {
		if !checkReceiptScan(t, []byte(fast)) {
			t.Errorf("%s: went the slow way", fast)
		}
	}
}

func readFirstReceipt(t testing.TB) []byte {
	elems, ok := jsonrpc.Elements(readTestdata(t, "eth_receipts_txs.json"))
	if !ok {
		t.Fatal("eth_receipts_txs.json: not a list")
	}
	return elems[0]
}

// FuzzReceiptScan: wherever the fast way answers, encoding/json gives the
// same receipt.
//
//	go test ./klay -run=^$ -fuzz=FuzzReceiptScan -fuzztime=60s
func FuzzReceiptScan(f *testing.F) {
	for _, name := range []string{"receipts_txs.json", "eth_receipts_txs.json"} {
		elems, _ := jsonrpc.Elements(readTestdata(f, name))
		for _, e := range elems {
			f.Add(e)
		}
	}
	f.Add([]byte(`{"blockNumber":"0x1","to":null,"logs":[],"x":[1,{"y":"z"}],"status":"0x1","status":"0x0"}`))
	f.Fuzz(func(t *testing.T, e []byte) {
		checkReceiptScan(t, e)
	})
}

// decodeBlockReceiptsJSON is decodeBlockReceipts as it was, all through
// encoding/json: the benchmark's peer.
func decodeBlockReceiptsJSON(raw json.RawMessage, blockHash common.Hash) (map[common.Hash]*Receipt, error) {
	var list []*blockReceipt
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	out := make(map[common.Hash]*Receipt, len(list))
	for _, r := range list {
		if r == nil || r.BlockNumber == nil {
			continue
		}
		if r.BlockHash != nil && *r.BlockHash != blockHash {
			return nil, errReceiptsOtherBlock
		}
		out[r.TxHash] = r.receipt()
	}
	return out, nil
}

// bigReceiptsBlock is an eth_getBlockReceipts answer for a block of n
// value transfers (the recorded first one, with n different hashes).
func bigReceiptsBlock(b testing.TB, n int) ([]byte, common.Hash) {
	first := readFirstReceipt(b)
	hash, _ := jsonrpc.Field(first, "transactionHash")
	bh, _ := jsonrpc.Field(first, "blockHash")
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := range n {
		if i > 0 {
			buf.WriteByte(',')
		}
		h := fmt.Sprintf(`"0x%064x"`, i+1)
		buf.Write(bytes.Replace(first, hash, []byte(h), 1))
	}
	buf.WriteByte(']')
	return buf.Bytes(), common.HexToHash(string(bh[1 : len(bh)-1]))
}

// BenchmarkDecodeBlockReceipts: a saturated block's receipts (5,000
// transfers, 5 MB), by the scan and by encoding/json.
//
//	go test ./klay -run=^$ -bench=DecodeBlockReceipts -benchmem
func BenchmarkDecodeBlockReceipts(b *testing.B) {
	raw, bh := bigReceiptsBlock(b, 5000)
	for _, c := range []struct {
		name   string
		decode func(json.RawMessage, common.Hash) (map[common.Hash]*Receipt, error)
	}{{"scan", decodeBlockReceipts}, {"encoding-json", decodeBlockReceiptsJSON}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				rs, err := c.decode(raw, bh)
				if err != nil || len(rs) != 5000 {
					b.Fatalf("%d receipts, %v", len(rs), err)
				}
			}
		})
	}
}

// hasControl against a byte-by-byte look, for every byte value at every
// position of strings around the eight-byte step.
func TestHasControl(t *testing.T) {
	for n := range 20 {
		for pos := range n {
			for c := range 256 {
				b := bytes.Repeat([]byte{'a'}, n)
				b[pos] = byte(c)
				if got, want := hasControl(b), c < 0x20; got != want {
					t.Fatalf("hasControl(%q) = %v", b, got)
				}
				b[pos] = 0xff // neighbours of the high half
				if pos+1 < n {
					b[pos+1] = byte(c)
					if got, want := hasControl(b), c < 0x20; got != want {
						t.Fatalf("hasControl(%q) = %v", b, got)
					}
				}
			}
		}
	}
}

// FuzzDecodeBlockReceipts: the whole answer decodes as it did when all of
// it went through encoding/json.
//
//	go test ./klay -run=^$ -fuzz=FuzzDecodeBlockReceipts -fuzztime=60s
func FuzzDecodeBlockReceipts(f *testing.F) {
	for _, name := range []string{"receipts_txs.json", "eth_receipts_txs.json", "receipts_empty.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`[null,{"blockNumber":"0x1","transactionHash":"0x` + strings.Repeat("ab", 32) + `"}] `))
	f.Add([]byte(`[{"blockNumber":"0x1","blockHash":"0x` + strings.Repeat("11", 32) + `"},tru]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var bh common.Hash
		got, err := decodeBlockReceipts(raw, bh)
		want, werr := decodeBlockReceiptsJSON(raw, bh)
		if len(raw) == 0 || string(raw) == "null" {
			return // both mean "no receipts" to the new one; the old one was never given them
		}
		if (err == nil) != (werr == nil) || (err != nil && errors.Is(err, errReceiptsOtherBlock) != errors.Is(werr, errReceiptsOtherBlock)) {
			t.Fatalf("%q: error %v, encoding/json's %v", raw, err, werr)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d receipts, encoding/json %d", raw, len(got), len(want))
		}
		for h, r := range want {
			if g := got[h]; g == nil || sameReceipt(g, r) != "" {
				t.Fatalf("%q: receipt of %s: %+v, encoding/json %+v", raw, h.Hex(), g, r)
			}
		}
	})
}
