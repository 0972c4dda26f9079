package klay

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestRunStateRoundTrip(t *testing.T) {
	key := mustKey(t, testKeyHex)
	dir := StateDir(t.TempDir())
	st := RunState{RunID: "r1", Funder: KeyAddress(key), Chain: "mc", ChainID: 2018,
		Endpoint: "http://127.0.0.1:8561", Worker: 2, Count: 7, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	path, err := WriteRunState(dir, st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(path, st.Funder.Hex()) || !strings.Contains(path, "r1") || strings.Contains(strings.ToLower(path), testKeyHex[:16]) {
		t.Fatalf("bad state file name %s", path)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), testKeyHex) {
		t.Fatal("state file holds the key")
	}
	other := st
	other.RunID, other.Chain = "r2", "sc"
	if _, err := WriteRunState(dir, other); err != nil {
		t.Fatal(err)
	}
	got, err := FindRunStates(dir, "r1")
	if err != nil || len(got) != 1 || got[0] != st {
		t.Fatalf("FindRunStates: %v %+v", err, got)
	}
	accs, err := got[0].Accounts(key, nil)
	if err != nil || len(accs) != 7 {
		t.Fatalf("Accounts: %v", err)
	}
	want, _ := DeriveKeys(key, "r1", 2, 7)
	if accs[6].Address != KeyAddress(want[6]) {
		t.Fatal("state accounts differ from derived")
	}
	if _, err := got[0].Accounts(mustKey(t, strings.Repeat("3", 64)), nil); err == nil || !strings.Contains(err.Error(), st.Funder.Hex()) {
		t.Fatalf("wrong key accepted: %v", err)
	}
	if err := RemoveRunState(dir, st); err != nil {
		t.Fatal(err)
	}
	if got, _ := FindRunStates(dir, "r1"); len(got) != 0 {
		t.Fatal("state not removed")
	}
	if got, err := FindRunStates(t.TempDir()+"/nope", "r1"); err != nil || len(got) != 0 {
		t.Fatalf("missing dir: %v", err)
	}
	if _, err := WriteRunState(dir, RunState{RunID: "../x", Chain: "mc"}); err == nil {
		t.Fatal("bad run id written")
	}
}
