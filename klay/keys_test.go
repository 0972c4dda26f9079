package klay

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKeyHex is a throw-away key used only by unit tests.
const testKeyHex = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

func TestParseKey(t *testing.T) {
	want := KeyAddress(mustKey(t, testKeyHex))
	for _, in := range []string{testKeyHex, "0x" + testKeyHex, "0X" + strings.ToUpper(testKeyHex), "  " + testKeyHex + "\n"} {
		k, err := ParseKey(in)
		if err != nil {
			t.Fatalf("ParseKey(%d chars): %v", len(in), err)
		}
		if KeyAddress(k) != want {
			t.Fatalf("address mismatch")
		}
	}
	bad := []string{
		"",
		"0x",
		testKeyHex[:63],
		testKeyHex + "00",
		"zz" + testKeyHex[2:],
		strings.Repeat("0", 64), // zero is not a valid key
		strings.Repeat("f", 64), // above the curve order
	}
	for _, in := range bad {
		_, err := ParseKey(in)
		if err == nil {
			t.Fatalf("ParseKey accepted a bad key of %d chars", len(in))
		}
		if !errors.Is(err, ErrBadKey) {
			t.Fatalf("error does not wrap ErrBadKey: %v", err)
		}
		if len(in) >= 8 && strings.Contains(err.Error(), in[2:10]) {
			t.Fatalf("error echoes the key: %v", err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("error is not one line: %q", err)
		}
	}
}

func TestKeySourceLoad(t *testing.T) {
	other := "0x" + strings.Repeat("1", 64)
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(testKeyHex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvMCKey, other)

	// Flag wins over file and env.
	k, err := MainChainKeySource(testKeyHex, "").Load()
	if err != nil || KeyHex(k) != testKeyHex {
		t.Fatalf("flag: %v", err)
	}
	// File wins over env.
	k, err = MainChainKeySource("", file).Load()
	if err != nil || KeyHex(k) != testKeyHex {
		t.Fatalf("file: %v", err)
	}
	// Env last.
	k, err = MainChainKeySource("", "").Load()
	if err != nil || KeyHex(k) != strings.Repeat("1", 64) {
		t.Fatalf("env: %v", err)
	}

	// Bad key from each source: a PreflightError naming the source only.
	badKey := "0x" + strings.Repeat("ab", 31) + "zz"
	t.Setenv(EnvSCKey, badKey)
	for name, ks := range map[string]KeySource{
		"-scKey":            ServiceChainKeySource(badKey, ""),
		"$KLAYSLAVE_SC_KEY": ServiceChainKeySource("", ""),
	} {
		_, err := ks.Load()
		var pe *PreflightError
		if !errors.As(err, &pe) || pe.Check != CheckKey {
			t.Fatalf("%s: want PreflightError, got %v", name, err)
		}
		if !strings.Contains(err.Error(), name) || strings.Contains(err.Error(), "abab") {
			t.Fatalf("%s: message %q", name, err)
		}
	}
	_, err = ServiceChainKeySource("", filepath.Join(dir, "missing")).Load()
	if !IsPreflight(err) || !strings.Contains(err.Error(), "-scKeyFile") {
		t.Fatalf("missing file: %v", err)
	}
	t.Setenv(EnvSCKey, "")
	_, err = ServiceChainKeySource("", "").Load()
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}
