package jsonrpc

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strconv"
)

// Field returns the raw JSON value of the member key of the JSON object
// obj (top level only), and whether it is there. It checks only as much
// syntax as it needs to skip the other members.
func Field(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		kEnd, ok := skipString(obj, i)
		if !ok {
			return nil, false
		}
		k := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		vEnd, ok := skipValue(obj, i)
		if !ok {
			return nil, false
		}
		if string(k) == key {
			return obj[i:vEnd], true
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
// It looks for the quotes and backslashes with bytes.IndexByte: the
// strings of a block's receipts (hashes, blooms) are most of its bytes.
func skipString(b []byte, i int) (int, bool) {
	j := i + 1
	for j < len(b) {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, false
		}
		e := bytes.IndexByte(b[j:j+q], '\\')
		if e < 0 {
			return j + q + 1, true
		}
		j += e + 2 // past the backslash and the character it escapes
	}
	return 0, false
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		if j == i {
			return 0, false
		}
		return j, true
	}
}

// String returns the contents of a JSON string without escapes (what
// JSON-RPC answers hold: hex, names, messages); escaped strings are decoded
// in full.
func String(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", fmt.Errorf("not a JSON string: %.40s", raw)
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	return strconv.Unquote(string(raw))
}

var errNotQuantity = errors.New("not a hex quantity")

// hexDigits returns the digits of a quoted 0x-prefixed hex value.
func hexDigits(raw []byte) ([]byte, error) {
	if len(raw) < 4 || raw[0] != '"' || raw[len(raw)-1] != '"' || raw[1] != '0' || (raw[2] != 'x' && raw[2] != 'X') {
		return nil, fmt.Errorf("%w: %.40s", errNotQuantity, raw)
	}
	return raw[3 : len(raw)-1], nil
}

// Uint64 parses a hex quantity such as "0x1a".
func Uint64(raw []byte) (uint64, error) {
	d, err := hexDigits(raw)
	if err != nil {
		return 0, err
	}
	if len(d) == 0 || len(d) > 16 {
		return 0, fmt.Errorf("%w: %.40s", errNotQuantity, raw)
	}
	var v uint64
	for _, c := range d {
		n, ok := hexVal(c)
		if !ok {
			return 0, fmt.Errorf("%w: %.40s", errNotQuantity, raw)
		}
		v = v<<4 | uint64(n)
	}
	return v, nil
}

// Big parses a hex quantity of any size.
func Big(raw []byte) (*big.Int, error) {
	d, err := hexDigits(raw)
	if err != nil {
		return nil, err
	}
	for _, c := range d {
		// big.Int.SetString would also take a sign.
		if _, ok := hexVal(c); !ok {
			return nil, fmt.Errorf("%w: %.40s", errNotQuantity, raw)
		}
	}
	v, ok := new(big.Int).SetString(string(d), 16)
	if !ok || len(d) == 0 {
		return nil, fmt.Errorf("%w: %.40s", errNotQuantity, raw)
	}
	return v, nil
}

// Hex checks that raw is quoted 0x-prefixed hex of exactly n bytes (n < 0:
// any length) and returns its digits.
func Hex(raw []byte, n int) ([]byte, error) {
	d, err := hexDigits(raw)
	if err != nil {
		return nil, err
	}
	if len(d)%2 != 0 || (n >= 0 && len(d) != 2*n) {
		return nil, fmt.Errorf("want %d bytes of hex, got %.70s", n, raw)
	}
	for _, c := range d {
		if _, ok := hexVal(c); !ok {
			return nil, fmt.Errorf("not hex: %.70s", raw)
		}
	}
	return d, nil
}

func hexVal(c byte) (byte, bool) {
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

// Elements returns the raw values of the JSON array arr (top level only),
// and false when arr is not an array, or more than white space follows it.
// It checks only as much syntax as it needs to find where each element
// ends.
func Elements(arr []byte) ([][]byte, bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return nil, false
	}
	var out [][]byte
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return out, skipSpace(arr, i+1) == len(arr)
	}
	for {
		i = skipSpace(arr, i)
		end, ok := skipValue(arr, i)
		if !ok {
			return nil, false
		}
		out = append(out, arr[i:end])
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return nil, false
		}
		switch arr[i] {
		case ']':
			return out, skipSpace(arr, i+1) == len(arr)
		case ',':
			i++
		default:
			return nil, false
		}
	}
}

// Members calls fn with the raw key (between its quotes, escapes left as
// they are) and raw value of each member of the JSON object obj, in order,
// and reports whether obj is an object it could walk; fn returns false to
// stop the walk, which then reports false too. Like Field, it checks only
// as much syntax as it needs to find where each member ends.
func Members(obj []byte, fn func(key, value []byte) bool) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		kEnd, ok := skipString(obj, i)
		if !ok {
			return false
		}
		k := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return false
		}
		i = skipSpace(obj, i+1)
		vEnd, ok := skipValue(obj, i)
		if !ok || !fn(k, obj[i:vEnd]) {
			return false
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case '}':
			return skipSpace(obj, i+1) == len(obj)
		case ',':
			i++
		default:
			return false
		}
	}
}
