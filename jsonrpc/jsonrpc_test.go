package jsonrpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestField(t *testing.T) {
	obj := []byte(` {"jsonrpc":"2.0", "id":1 ,"x":{"result":"no","a":[1,"]}",{"b":"\"}"}]},"result" : {"number":"0x10","hash":"0xab"}, "error":null}`)
	res, ok := Field(obj, "result")
	if !ok || string(res) != `{"number":"0x10","hash":"0xab"}` {
		t.Fatalf("result = %q, %v", res, ok)
	}
	if n, ok := Field(res, "number"); !ok || string(n) != `"0x10"` {
		t.Fatalf("number = %q, %v", n, ok)
	}
	if v, ok := Field(obj, "id"); !ok || string(v) != "1" {
		t.Fatalf("id = %q, %v", v, ok)
	}
	if _, ok := Field(obj, "missing"); ok {
		t.Fatal("found a missing key")
	}
	for _, bad := range []string{``, `[]`, `{"a"}`, `{"a":`, `{"a":"x`, `{"a":1 "result":2}`, `{"a":{"b":1}`} {
		if _, ok := Field([]byte(bad), "result"); ok {
			t.Errorf("Field(%q) found a result", bad)
		}
	}
}

// FuzzField checks Field against encoding/json on what both accept.
func FuzzField(f *testing.F) {
	for _, s := range []string{`{"result":"0x1"}`, `{"a":[{"result":1}],"result":{"x":"\""}}`, `{"result":null}`, `{"result":true,"error":{"code":-1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		got, ok := Field(data, "result")
		if json.Unmarshal(data, &m) != nil {
			return
		}
		want, has := m["result"]
		if strings.Count(string(data), `"result"`) > 1 {
			return // duplicate keys: encoding/json keeps the last, Field the first
		}
		if has && (!ok || string(got) != string(want)) {
			t.Fatalf("Field = %q, %v; encoding/json says %q", got, ok, want)
		}
	})
}

func TestQuantities(t *testing.T) {
	if v, err := Uint64([]byte(`"0x1a"`)); err != nil || v != 26 {
		t.Fatalf("Uint64 = %d, %v", v, err)
	}
	for _, bad := range []string{`"0x"`, `"1a"`, `0x1a`, `"0xg"`, `"0x10000000000000000"`, `null`} {
		if _, err := Uint64([]byte(bad)); err == nil {
			t.Errorf("Uint64(%s) accepted", bad)
		}
	}
	if v, err := Big([]byte(`"0x10000000000000000"`)); err != nil || v.String() != "18446744073709551616" {
		t.Fatalf("Big = %v, %v", v, err)
	}
	for _, bad := range []string{`"0x-1"`, `"0x+f"`, `"0x"`, `"0xg"`} {
		if v, err := Big([]byte(bad)); err == nil {
			t.Errorf("Big(%s) = %v", bad, v)
		}
	}
	if _, err := Hex([]byte(`"0x"`), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Hex([]byte(`"0xabc"`), -1); err == nil {
		t.Fatal("odd hex accepted")
	}
	if s, err := String([]byte(`"a\"b"`)); err != nil || s != `a"b` {
		t.Fatalf("String = %q, %v", s, err)
	}
}

func TestCall(t *testing.T) {
	var gotCT, gotBody string
	answer := `{"jsonrpc":"2.0","id":1,"result":"0x2a"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotCT = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		switch {
		case strings.Contains(gotBody, "fail"):
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method fail does not exist"}}`)
		case strings.Contains(gotBody, "down"):
			http.Error(w, "down", http.StatusBadGateway)
		case strings.Contains(gotBody, "html"):
			_, _ = io.WriteString(w, `<html>`)
		default:
			_, _ = io.WriteString(w, answer)
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL, &http.Client{Transport: NewTransport(4)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var v uint64
	n, err := c.Call(ctx, Body("klay_blockNumber"), func(res []byte) (err error) { v, err = Uint64(res); return err })
	if err != nil || v != 42 || n != int64(len(answer)) {
		t.Fatalf("Call = %d, %v (value %d)", n, err, v)
	}
	if gotCT != "application/json" || gotBody != `{"jsonrpc":"2.0","id":1,"method":"klay_blockNumber","params":[]}` {
		t.Fatalf("server saw %q %q", gotCT, gotBody)
	}
	_, err = c.Call(ctx, Body("fail", `"0x1"`, "true"), nil)
	var re *Error
	if !errors.As(err, &re) || re.Code != -32601 || err.Error() != "rpc error -32601: the method fail does not exist" {
		t.Fatalf("error answer: %v", err)
	}
	if gotBody != `{"jsonrpc":"2.0","id":1,"method":"fail","params":["0x1",true]}` {
		t.Fatalf("server saw %q", gotBody)
	}
	if _, err = c.Call(ctx, Body("down"), nil); err == nil || err.Error() != "HTTP 502" {
		t.Fatalf("502: %v", err)
	}
	if _, err = c.Call(ctx, Body("html"), nil); !errors.Is(err, ErrNotJSONRPC) {
		t.Fatalf("html: %v", err)
	}
	if _, err := New("localhost:8551", nil); err == nil {
		t.Fatal("a URL without scheme was accepted")
	}
}

// Members walks an object's members in order, as encoding/json reads
// them, and Elements an array's; both refuse what follows the value.
func FuzzMembersElements(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":"x\"y","c":[1,{"d":null}]}`, `{}`, ` { "a" : true } `, `[1,"2",{"3":4}]`, `[]`, `[1] x`, `{"a":1} }`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]json.RawMessage
		if json.Unmarshal(data, &m) == nil && m != nil {
			var keys []string
			ok := Members(data, func(k, v []byte) bool {
				keys = append(keys, string(k))
				if !strings.Contains(string(k), `\`) && utf8.Valid(k) && string(m[string(k)]) != string(v) && strings.Count(string(data), `"`+string(k)+`"`) == 1 {
					t.Fatalf("member %q = %q; encoding/json says %q", k, v, m[string(k)])
				}
				return true
			})
			if !ok {
				t.Fatalf("Members refused %q, which encoding/json reads", data)
			}
			if len(keys) < len(m) {
				t.Fatalf("Members gave %d keys, encoding/json %d", len(keys), len(m))
			}
		}
		var a []json.RawMessage
		if json.Unmarshal(data, &a) == nil && a != nil {
			es, ok := Elements(data)
			if !ok || len(es) != len(a) {
				t.Fatalf("Elements(%q) = %d, %v; encoding/json reads %d", data, len(es), ok, len(a))
			}
			for i := range es {
				if string(es[i]) != string(a[i]) {
					t.Fatalf("element %d = %q, want %q", i, es[i], a[i])
				}
			}
		}
	})
}

func TestElementsRefusesTrailingBytes(t *testing.T) {
	for _, bad := range []string{`[1] x`, `[] ]`, `[1],`} {
		if _, ok := Elements([]byte(bad)); ok {
			t.Errorf("Elements(%q) took it", bad)
		}
	}
	if es, ok := Elements([]byte(" [1, \"a\"] \n")); !ok || len(es) != 2 {
		t.Errorf("Elements with white space around: %q, %v", es, ok)
	}
	if Members([]byte(`{"a":1} x`), func(k, v []byte) bool { return true }) {
		t.Error("Members took bytes after the object")
	}
}
