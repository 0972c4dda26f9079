package tc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

// MissingContractError says that a contract address the user gave has no
// code on the chain. The CLI turns it into one line naming the contract
// and how to deploy it, and exit code 2.
type MissingContractError struct {
	Contract string // contracts name, e.g. "KlayslaveERC20"
	Address  common.Address
	Chain    string // "main"
}

func (e *MissingContractError) Error() string {
	return fmt.Sprintf("no %s contract at %s on the %s chain: give the address of a deployed %s, or none and set-up deploys one",
		e.Contract, e.Address.Hex(), e.Chain, e.Contract)
}

// contractSet finds the catalogue's contracts on one chain: the address
// the user gave (checked to hold code), else one recorded in the state
// directory by an earlier set-up of any worker with the same chain and
// funder, else a new deployment by the funder, which is then recorded.
type contractSet struct {
	chain *Chain
	given map[string]common.Address
	// path is the state file; empty without a state directory (then every
	// set-up deploys its own).
	path string
	log  *slog.Logger
}

// mainContract is the set-up the token and execution cases share: the main
// chain's test accounts, the contract's ABI and bytecode, and the set that
// finds or deploys its instance.
func mainContract(env *Env, name string) (*Chain, *contracts.Contract, *contractSet, error) {
	if err := needAccounts(env.MC); err != nil {
		return nil, nil, nil, err
	}
	k, err := contracts.Load(name)
	if err != nil {
		return nil, nil, nil, err
	}
	return env.MC, k, newContractSet(env, env.MC), nil
}

func newContractSet(env *Env, c *Chain) *contractSet {
	s := &contractSet{chain: c, given: env.Contracts, log: env.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if env.StateDir != "" {
		h := sha256.Sum256([]byte(c.ChainID.String() + "/" + c.Funder.Address.Hex()))
		s.path = filepath.Join(env.StateDir, fmt.Sprintf("contracts-%s-%s.json", c.ChainID, hex.EncodeToString(h[:6])))
	}
	return s
}

// ensure returns the address of contract name. args are its constructor
// arguments for a deployment; reuse, when set, says whether a recorded
// deployment still fits (e.g. it references the right token).
func (s *contractSet) ensure(ctx context.Context, name string, reuse func(common.Address) bool, args ...any) (common.Address, error) {
	if addr, ok := s.given[name]; ok {
		has, err := klay.HasCode(ctx, s.chain.Client, addr)
		if err != nil {
			return common.Address{}, err
		}
		if !has {
			return common.Address{}, &MissingContractError{Contract: name, Address: addr, Chain: s.chain.Name}
		}
		return addr, nil
	}
	var addr common.Address
	err := s.locked(ctx, func(rec map[string]common.Address) error {
		if a, ok := rec[name]; ok {
			has, err := klay.HasCode(ctx, s.chain.Client, a)
			if err != nil {
				return err
			}
			if has && (reuse == nil || reuse(a)) {
				addr = a
				s.log.Info("reusing contract", "contract", name, "address", a.Hex(), "chain", s.chain.Name)
				return nil
			}
		}
		c, err := contracts.Load(name)
		if err != nil {
			return err
		}
		code, err := c.DeployData(args...)
		if err != nil {
			return err
		}
		a, err := klay.Deploy(ctx, s.chain.Client, s.chain.Waiter, s.chain.ChainID, s.chain.Funder, code)
		if err != nil {
			return fmt.Errorf("deploy %s on the %s chain: %w", name, s.chain.Name, err)
		}
		rec[name], addr = a, a
		s.log.Info("deployed contract", "contract", name, "address", a.Hex(), "chain", s.chain.Name)
		return nil
	})
	return addr, err
}

// locked runs f on the recorded addresses under an exclusive lock of the
// state file, so that of several workers starting together one deploys
// and the others reuse; it records what f leaves. Without a state
// directory f gets an empty record that is not kept.
func (s *contractSet) locked(ctx context.Context, f func(map[string]common.Address) error) error {
	rec := map[string]common.Address{}
	if s.path == "" {
		return f(rec)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	unlock, err := flock(ctx, s.path+".lock")
	if err != nil {
		return err
	}
	defer unlock()
	data, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("state file %s: %w", s.path, err)
		}
	}
	ferr := f(rec)
	data, err = json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	// Temporary file and rename: a reader never sees half a file.
	tmp := s.path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil && ferr == nil {
		ferr = err
	}
	return ferr
}

// flock takes an exclusive flock(2) on path, polling (bounded by ctx) so
// that a stop is not held up. The kernel releases it if the process dies,
// so no stale lock is left behind.
func flock(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	err = klay.Poll(ctx, klay.ReceiptTimeout*3, func() (bool, error) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("waiting for set-up lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
