package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kaiachain/kaia/common"
)

// State is what set-up records under the state directory so that every
// worker sharing the chains and funders reuses one bridge pair and one
// token pair of each kind instead of deploying its own.
type State struct {
	MCChainID uint64         `json:"mcChainId"`
	SCChainID uint64         `json:"scChainId"`
	MCFunder  common.Address `json:"mcFunder"`
	SCFunder  common.Address `json:"scFunder"`
	Bridge    Pair           `json:"bridge"`
	ERC20     TokenPair      `json:"erc20"`
	ERC721    TokenPair      `json:"erc721"`
	// NextNFTID is the first NFT id not handed out yet; every Case.New
	// reserves a fresh range so that no two pools share an id.
	NextNFTID uint64 `json:"nextNftId"`
}

// Pair is a bridge pair: Parent on the main chain, Child on the service chain.
type Pair struct {
	Parent common.Address `json:"parent"`
	Child  common.Address `json:"child"`
}

// TokenPair is a token deployed on both chains and registered with a pair.
type TokenPair struct {
	Parent common.Address `json:"parent"`
	Child  common.Address `json:"child"`
}

// IsZero reports whether nothing is recorded.
func (p Pair) IsZero() bool { return p == Pair{} }

// IsZero reports whether nothing is recorded.
func (t TokenPair) IsZero() bool { return t == TokenPair{} }

// StateKey names the state file of a set-up: the chains, the funders and,
// when given, the bridges (so that -mcBridge/-scBridge runs do not reuse
// tokens registered with another pair).
func StateKey(mcChain, scChain *big.Int, mcFunder, scFunder common.Address, given Pair) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s/%s/%s/%s/%s/%s", mcChain, scChain, mcFunder.Hex(), scFunder.Hex(), given.Parent.Hex(), given.Child.Hex())
	return fmt.Sprintf("bridge-%s-%s-%s", mcChain, scChain, hex.EncodeToString(h.Sum(nil)[:6]))
}

// store is the state file of one key and its lock file.
type store struct {
	path string
}

func newStore(dir, key string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return &store{path: filepath.Join(dir, key+".json")}, nil
}

// load returns the recorded state, or a zero State if there is none.
func (s *store) load() (State, error) {
	var st State
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("state file %s: %w", s.path, err)
	}
	return st, nil
}

// save writes the state atomically (temporary file + rename), so that a
// reader never sees half a file.
func (s *store) save(st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// Lock timings: the holder touches the lock every lockBeat; a lock not
// touched for lockStale belongs to a dead process and is broken.
const (
	lockBeat  = 2 * time.Second
	lockStale = 20 * time.Second
)

// lock takes the store's lock file, created with O_EXCL, so that one
// set-up at a time (in this process or another) reads, deploys and
// records. It returns the unlock function.
func (s *store) lock(ctx context.Context) (func(), error) {
	path := s.path + ".lock"
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return s.holdLock(path), nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > lockStale {
			// The holder stopped beating: it died. Remove and race again.
			_ = os.Remove(path)
			continue
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for set-up lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// holdLock beats the lock until the returned function releases it.
func (s *store) holdLock(path string) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(lockBeat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				_ = os.Chtimes(path, now, now)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		_ = os.Remove(path)
	}
}
