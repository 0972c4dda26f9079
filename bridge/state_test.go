package bridge

import (
	"context"
	"math/big"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
)

func TestStateKeyDependsOnInputs(t *testing.T) {
	a, b := common.HexToAddress("0x1"), common.HexToAddress("0x2")
	k := StateKey(big.NewInt(2018), big.NewInt(1002), a, b, Pair{})
	if k != StateKey(big.NewInt(2018), big.NewInt(1002), a, b, Pair{}) {
		t.Fatal("key is not stable")
	}
	for _, other := range []string{
		StateKey(big.NewInt(2019), big.NewInt(1002), a, b, Pair{}),
		StateKey(big.NewInt(2018), big.NewInt(1002), b, a, Pair{}),
		StateKey(big.NewInt(2018), big.NewInt(1002), a, b, Pair{Parent: a, Child: b}),
	} {
		if other == k {
			t.Fatalf("different inputs share key %s", k)
		}
	}
}

func TestStoreRoundTrip(t *testing.T) {
	s, err := newStore(t.TempDir(), "k")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.load()
	if err != nil || st != (State{}) {
		t.Fatalf("empty store: %+v %v", st, err)
	}
	want := State{MCChainID: 1, Bridge: Pair{Parent: common.HexToAddress("0xab")}, NextNFTID: 7}
	if err := s.save(want); err != nil {
		t.Fatal(err)
	}
	if got, err := s.load(); err != nil || got != want {
		t.Fatalf("got %+v %v, want %+v", got, err, want)
	}
}

// TestLockExcludes runs many holders at once: never two inside together.
func TestLockExcludes(t *testing.T) {
	s, err := newStore(t.TempDir(), "k")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	inside, maxInside := 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := s.lock(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			inside++
			maxInside = max(maxInside, inside)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			inside--
			mu.Unlock()
			unlock()
		}()
	}
	wg.Wait()
	if maxInside != 1 {
		t.Fatalf("%d holders at once", maxInside)
	}
}

// TestStaleLockIsBroken: a lock file nobody beats for lockStale belongs to
// a dead process and must not block set-up forever.
func TestStaleLockIsBroken(t *testing.T) {
	s, err := newStore(t.TempDir(), "k")
	if err != nil {
		t.Fatal(err)
	}
	path := s.path + ".lock"
	if err := os.WriteFile(path, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * lockStale)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	unlock, err := s.lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("lock file left behind: %v", err)
	}
}

// TestLockWaitsForHolder: a live lock makes others wait until ctx ends.
func TestLockWaitsForHolder(t *testing.T) {
	s, err := newStore(t.TempDir(), "k")
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.lock(ctx); err == nil {
		t.Fatal("second lock taken while the first is held")
	}
}
