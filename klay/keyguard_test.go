package klay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyGuardCatchesLeaks makes sure the leak check the devnet tests rely
// on does fire.
func TestKeyGuardCatchesLeaks(t *testing.T) {
	key := mustKey(t, testKeyHex)
	g := &keyGuard{t: t}
	g.add(key)
	dir := t.TempDir()
	g.watchDir(dir)
	g.logger().Info("funded", "account", NewAccount(key, nil), "err", ErrBadKey)
	if l := g.leaks(); len(l) != 0 {
		t.Fatalf("false alarm: %v", l)
	}
	_, _ = g.Write([]byte("oops 0x" + strings.ToUpper(testKeyHex) + "\n"))
	if err := os.WriteFile(filepath.Join(dir, "slave-"+testKeyHex+".log"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if l := g.leaks(); len(l) != 2 {
		t.Fatalf("want a log leak and a file-name leak, got %v", l)
	}
}
