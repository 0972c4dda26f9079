package klay

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/big"
	"strings"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/jsonrpc"
)

// scanBlockReceipt decodes one entry of eth_ or klay_getBlockReceipts in
// one pass over its bytes, without encoding/json: at saturation a block's
// receipts are megabytes, and decoding them with json.Unmarshal (which
// checks the whole answer, then decodes it by reflection, skipping the
// fields it does not want byte by byte) was 7 % of klayslave's CPU.
//
// It takes only the plain form nodes send: members it knows, with hex
// strings in their canonical form, and empty logs. For anything else
// (escapes, other spellings of a key, leading zeros, logs, a value that
// may not be valid JSON) ok is false and the caller decodes the entry with
// encoding/json, which then decides, so that both ways agree wherever this
// one answers (FuzzReceiptScan). skip is true for an entry the slow way
// also leaves out: null, or no block number.
func scanBlockReceipt(e []byte) (r *Receipt, blockHash *common.Hash, skip, ok bool) {
	if string(e) == "null" {
		return nil, nil, true, true
	}
	r = &Receipt{}
	var hasNumber bool
	ok = jsonrpc.Members(e, func(k, v []byte) bool {
		isNull := string(v) == "null"
		switch string(k) {
		case "transactionHash":
			return fixedHex(v, r.TxHash[:])
		case "blockHash":
			if isNull {
				blockHash = nil
				return true
			}
			var h common.Hash
			blockHash = &h
			return fixedHex(v, h[:])
		case "blockNumber":
			if isNull {
				hasNumber = false
				return true
			}
			r.BlockNumber, hasNumber = quantity64(v)
			return hasNumber
		case "from":
			return fixedHex(v, r.From[:])
		case "to":
			r.To = nil
			return isNull || addressPtr(v, &r.To)
		case "contractAddress":
			r.ContractAddress = nil
			return isNull || addressPtr(v, &r.ContractAddress)
		case "status":
			var ok bool
			r.Status, ok = quantity64(v)
			return ok
		case "txError":
			if isNull {
				r.TxError = 0
				return true
			}
			var ok bool
			r.TxError, ok = quantity64(v)
			return ok
		case "gasUsed":
			var ok bool
			r.GasUsed, ok = quantity64(v)
			return ok
		case "gasPrice":
			r.GasPrice = nil
			if isNull {
				return true
			}
			var ok bool
			r.GasPrice, ok = quantity(v)
			return ok
		case "effectiveGasPrice":
			r.EffectiveGasPrice = nil
			if isNull {
				return true
			}
			var ok bool
			r.EffectiveGasPrice, ok = quantity(v)
			return ok
		case "logs":
			switch string(v) {
			case "null":
				r.Logs = nil
			case "[]":
				r.Logs = []*types.Log{}
			default:
				return false
			}
			return true
		}
		return otherMember(k, v)
	})
	if !ok {
		return nil, nil, false, false
	}
	if !hasNumber {
		return nil, nil, true, true
	}
	return r, blockHash, false, true
}

// receiptKeys are the members scanBlockReceipt reads. encoding/json
// matches keys without regard to case, so another spelling of one of
// them goes the slow way.
var receiptKeys = []string{"transactionHash", "blockHash", "blockNumber", "from", "to", "contractAddress",
	"status", "txError", "gasUsed", "gasPrice", "effectiveGasPrice", "logs"}

// otherMember accepts a member scanBlockReceipt does not read when
// encoding/json would skip it too: its key is none of ours in another
// spelling, and its value is valid JSON (a plain string without escapes
// or control characters, the common case, is checked here at once).
func otherMember(k, v []byte) bool {
	for _, c := range k {
		// Escapes, control characters (not JSON), and letters beyond
		// ASCII that fold into ours.
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
	}
	for _, rk := range receiptKeys {
		if len(rk) == len(k) && strings.EqualFold(rk, string(k)) {
			return false
		}
	}
	if len(v) >= 2 && v[0] == '"' {
		if in := v[1 : len(v)-1]; bytes.IndexByte(in, '\\') < 0 && !hasControl(in) {
			return true
		}
	}
	return json.Valid(v)
}

// hasControl reports whether b holds a byte below 0x20, which a JSON
// string may not hold unescaped. Eight bytes at a time: a receipt's
// logsBloom alone is 514 of them.
func hasControl(b []byte) bool {
	const highs, below = 0x8080808080808080, 0x20 * 0x0101010101010101
	for len(b) >= 8 {
		x := binary.LittleEndian.Uint64(b)
		// A byte below 0x20 borrows into its high bit, unless that bit
		// was set already (a byte of 0x80 or more, not a control).
		if (x-below)&^x&highs != 0 {
			return true
		}
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x20 {
			return true
		}
	}
	return false
}

// plainHex returns the digits of v, a JSON string "0x…" of hex digits,
// without escapes.
func plainHex(v []byte) ([]byte, bool) {
	if len(v) < 4 || v[0] != '"' || v[len(v)-1] != '"' || v[1] != '0' || (v[2] != 'x' && v[2] != 'X') {
		return nil, false
	}
	d := v[3 : len(v)-1]
	for _, c := range d {
		if _, ok := hexNibble(c); !ok {
			return nil, false
		}
	}
	return d, true
}

// fixedHex decodes v, "0x" and exactly len(dst) bytes of hex, into dst
// (common.Hash and common.Address in JSON).
func fixedHex(v []byte, dst []byte) bool {
	d, ok := plainHex(v)
	if !ok || len(d) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, _ := hexNibble(d[2*i])
		lo, _ := hexNibble(d[2*i+1])
		dst[i] = hi<<4 | lo
	}
	return true
}

func addressPtr(v []byte, dst **common.Address) bool {
	var a common.Address
	if !fixedHex(v, a[:]) {
		return false
	}
	*dst = &a
	return true
}

// quantityDigits returns the digits of a hex quantity of at most
// maxDigits digits in hexutil's canonical form: "0x0", or no leading zero.
func quantityDigits(v []byte, maxDigits int) ([]byte, bool) {
	d, ok := plainHex(v)
	if !ok || len(d) == 0 || len(d) > maxDigits || (len(d) > 1 && d[0] == '0') {
		return nil, false
	}
	return d, true
}

// quantity64 decodes a hexutil.Uint64.
func quantity64(v []byte) (uint64, bool) {
	d, ok := quantityDigits(v, 16)
	if !ok {
		return 0, false
	}
	var n uint64
	for _, c := range d {
		x, _ := hexNibble(c)
		n = n<<4 | uint64(x)
	}
	return n, true
}

// quantity decodes a hexutil.Big (256 bits at most).
func quantity(v []byte) (*big.Int, bool) {
	if n, ok := quantity64(v); ok {
		return new(big.Int).SetUint64(n), true
	}
	d, ok := quantityDigits(v, 64)
	if !ok {
		return nil, false
	}
	return new(big.Int).SetString(string(d), 16)
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
