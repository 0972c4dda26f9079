package klay

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kaiachain/kaia/common"
)

// RunState is what `klayslave sweep -run <id>` needs to find a run's test
// accounts again: with the funder's key, DeriveKeys(key, RunID, Worker,
// Count) gives them back. It holds no key.
type RunState struct {
	RunID     string         `json:"runId"`
	Funder    common.Address `json:"funder"`
	Chain     string         `json:"chain"` // "mc" or "sc"
	ChainID   uint64         `json:"chainId"`
	Endpoint  string         `json:"endpoint"`
	Worker    int            `json:"worker"`
	Count     int            `json:"count"`
	CreatedAt time.Time      `json:"createdAt"`
}

// StateDir is the state directory under the log directory.
func StateDir(logDir string) string { return filepath.Join(logDir, "state") }

// FileName is <funder address>_<run id>_<chain>_w<worker>.json: named by the
// funder's address and the run id, never by a key.
func (s RunState) FileName() string {
	return fmt.Sprintf("%s_%s_%s_w%d.json", s.Funder.Hex(), s.RunID, s.Chain, s.Worker)
}

func (s RunState) validate() error {
	if err := ValidateRunID(s.RunID); err != nil {
		return err
	}
	if s.Chain == "" || strings.ContainsAny(s.Chain, `/\_ `) {
		return fmt.Errorf("state chain %q: use a short name like mc or sc", s.Chain)
	}
	if s.Worker < 0 || s.Count < 0 {
		return errors.New("state worker and count must not be negative")
	}
	return nil
}

// WriteRunState writes s into dir (created if needed) atomically and
// returns the file's path.
func WriteRunState(dir string, s RunState) (string, error) {
	if err := s.validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, s.FileName())
	tmp, err := os.CreateTemp(dir, ".state-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp.Name(), path)
}

// FindRunStates returns the states of run id in dir, sorted by file name.
// It finds none (and no error) when dir does not exist.
func FindRunStates(dir, runID string) ([]RunState, error) {
	if err := ValidateRunID(runID); err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*_"+runID+"_*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []RunState
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var s RunState
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("state file %s: %w", p, err)
		}
		if s.RunID == runID {
			out = append(out, s)
		}
	}
	return out, nil
}

// RemoveRunState deletes s's file from dir; a missing file is not an error.
func RemoveRunState(dir string, s RunState) error {
	err := os.Remove(filepath.Join(dir, s.FileName()))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

// Accounts derives the run's test accounts again from the funder's key,
// which must belong to s.Funder.
func (s RunState) Accounts(funderKey *ecdsa.PrivateKey, src NonceSource) ([]*Account, error) {
	if KeyAddress(funderKey) != s.Funder {
		return nil, fmt.Errorf("the key given is not the key of funder %s recorded for run %s", s.Funder.Hex(), s.RunID)
	}
	return DeriveAccounts(funderKey, s.RunID, s.Worker, s.Count, src)
}
