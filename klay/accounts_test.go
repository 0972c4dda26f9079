package klay

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

func mustKey(t testing.TB, hex string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ParseKey(hex)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDeriveKeysDeterministicAndDisjoint(t *testing.T) {
	funder := mustKey(t, testKeyHex)
	other := mustKey(t, strings.Repeat("2", 64))
	a1, err := DeriveKeys(funder, "run-1", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DeriveKeys(funder, "run-1", 0, 50)
	for i := range a1 {
		if KeyHex(a1[i]) != KeyHex(a2[i]) {
			t.Fatalf("key %d differs between calls", i)
		}
	}
	seen := map[common.Address]string{}
	add := func(label string, keys []*ecdsa.PrivateKey) {
		for i, k := range keys {
			addr := KeyAddress(k)
			if prev, dup := seen[addr]; dup {
				t.Fatalf("%s[%d] collides with %s", label, i, prev)
			}
			seen[addr] = fmt.Sprintf("%s[%d]", label, i)
		}
	}
	add("w0", a1)
	for _, c := range []struct {
		label  string
		funder *ecdsa.PrivateKey
		run    string
		worker int
	}{
		{"w1", funder, "run-1", 1}, {"w2", funder, "run-1", 2},
		{"run2", funder, "run-2", 0}, {"other", other, "run-1", 0},
	} {
		keys, err := DeriveKeys(c.funder, c.run, c.worker, 50)
		if err != nil {
			t.Fatal(err)
		}
		add(c.label, keys)
	}
	if KeyAddress(funder) == KeyAddress(a1[0]) {
		t.Fatal("test account equals funder")
	}
	// A prefix of a larger set is the smaller set.
	small, _ := DeriveKeys(funder, "run-1", 0, 3)
	if KeyHex(small[2]) != KeyHex(a1[2]) {
		t.Fatal("derivation depends on the count")
	}
}

func TestRunIDValidation(t *testing.T) {
	for _, ok := range []string{"a", "20261127-101010-abcdef", "x.y_z-1"} {
		if err := ValidateRunID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "a/b", "a b", "-x", strings.Repeat("a", 65)} {
		if err := ValidateRunID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	id := NewRunID(time.Now())
	if err := ValidateRunID(id); err != nil {
		t.Fatalf("NewRunID gave %q: %v", id, err)
	}
	if _, err := DeriveKeys(mustKey(t, testKeyHex), "../etc", 0, 1); err == nil {
		t.Fatal("DeriveKeys accepted a bad run id")
	}
}

func TestAccountFormattingHidesKey(t *testing.T) {
	a := NewAccount(mustKey(t, testKeyHex), nil)
	raw := crypto.FromECDSA(a.PrivateKey())
	d := new(big.Int).SetBytes(raw).String() // the key as %v of *big.Int would print it
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s", a, a, a, a)} {
		if strings.Contains(s, testKeyHex) || strings.Contains(s, d) {
			t.Fatalf("formatting leaks the key: %s", s)
		}
		if !strings.Contains(s, a.Address.Hex()) {
			t.Fatalf("formatting lacks the address: %s", s)
		}
	}
}
