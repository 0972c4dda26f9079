package klay

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
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
			hasNumber = uintTo(v, &r.BlockNumber)
			return hasNumber || isNull // null: skipped, as encoding/json's nil
		case "from":
			return fixedHex(v, r.From[:])
		case "to":
			return optAddress(v, &r.To)
		case "contractAddress":
			return optAddress(v, &r.ContractAddress)
		case "status":
			return uintTo(v, &r.Status)
		case "txError":
			return uintTo(v, &r.TxError) || isNull // null: no code, 0
		case "gasUsed":
			return uintTo(v, &r.GasUsed)
		case "gasPrice":
			return optQuantity(v, &r.GasPrice)
		case "effectiveGasPrice":
			return optQuantity(v, &r.EffectiveGasPrice)
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

// The members' values, as encoding/json with Kaia's hexutil and common
// types would read them; false where those would refuse the value, or
// might read it otherwise (the caller then asks encoding/json).

// fixedHex decodes v, "0x" and exactly len(dst) bytes of hex, into dst
// (common.Hash and common.Address).
func fixedHex(v []byte, dst []byte) bool {
	d, err := jsonrpc.Hex(v, len(dst))
	if err != nil {
		return false
	}
	_, err = hex.Decode(dst, d)
	return err == nil
}

// optAddress decodes a *common.Address: null is nil.
func optAddress(v []byte, dst **common.Address) bool {
	*dst = nil
	if string(v) == "null" {
		return true
	}
	var a common.Address
	if !fixedHex(v, a[:]) {
		return false
	}
	*dst = &a
	return true
}

// canonical: hexutil refuses a quantity with a leading zero ("0x01"). v
// is a quoted "0x…" that jsonrpc has read as a quantity.
func canonical(v []byte) bool { return len(v) <= len(`"0x0"`) || v[3] != '0' }

// quantity64 decodes a hexutil.Uint64.
func quantity64(v []byte) (uint64, bool) {
	n, err := jsonrpc.Uint64(v)
	return n, err == nil && canonical(v)
}

// uintTo decodes a hexutil.Uint64 into dst (0 when it cannot).
func uintTo(v []byte, dst *uint64) bool {
	n, ok := quantity64(v)
	*dst = n
	return ok
}

// optQuantity decodes a *hexutil.Big (256 bits at most): null is nil.
func optQuantity(v []byte, dst **big.Int) bool {
	*dst = nil
	if string(v) == "null" {
		return true
	}
	if n, ok := quantity64(v); ok {
		*dst = new(big.Int).SetUint64(n)
		return true
	}
	n, err := jsonrpc.Big(v)
	if err != nil || !canonical(v) || len(v) > len(`"0x"`)+64 {
		return false
	}
	*dst = n
	return true
}
