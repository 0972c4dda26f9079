package tc

import (
	"context"
	"math/big"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kaiachain/kaia/common"
)

// locked excludes other holders, in this process as in others (flock), and
// keeps what each leaves in the record.
func TestContractSetLockedRecordsUnderLock(t *testing.T) {
	s := &contractSet{path: filepath.Join(t.TempDir(), "contracts-1-x.json")}
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.locked(context.Background(), func(rec map[string]common.Address) error {
				if n := inside.Add(1); n > most.Load() {
					most.Store(n)
				}
				defer inside.Add(-1)
				rec[string(rune('A'+i))] = common.BigToAddress(common.Big1)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders inside at once", most.Load())
	}
	_ = s.locked(context.Background(), func(rec map[string]common.Address) error {
		if len(rec) != 8 {
			t.Errorf("record has %d entries, want 8", len(rec))
		}
		return nil
	})
}

// ownedIDs hands out each id once and finds another owner's when asked.
func TestOwnedIDs(t *testing.T) {
	o := &ownedIDs{ids: map[common.Address][]*big.Int{}}
	a, b := common.HexToAddress("0xa"), common.HexToAddress("0xb")
	o.put(a, big.NewInt(1))
	if id := o.take(b); id != nil {
		t.Fatalf("b took %v, owns none", id)
	}
	owner, id := o.takeAny()
	if owner != a || id.Int64() != 1 {
		t.Fatalf("takeAny = %s, %v; want a's id 1", owner.Hex(), id)
	}
	if _, id := o.takeAny(); id != nil {
		t.Fatalf("takeAny found %v in empty pools", id)
	}
}
