package klay

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/crypto"
)

// Environment variables that may hold the funder keys.
const (
	EnvMCKey = "KLAYSLAVE_MC_KEY"
	EnvSCKey = "KLAYSLAVE_SC_KEY"
)

// ErrBadKey is wrapped by every key-parsing error. Its text never contains
// the key.
var ErrBadKey = errors.New("private key is not 32-byte hex")

// ParseKey parses a secp256k1 private key given as 64 hex digits, with or
// without a 0x prefix and surrounding white space. Errors never echo the
// input, only its length.
func ParseKey(s string) (*ecdsa.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex digits (0x optional), got %d characters", ErrBadKey, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		// hex errors name the offending byte; do not pass them on.
		return nil, fmt.Errorf("%w: it contains a character that is not a hex digit", ErrBadKey)
	}
	k, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, fmt.Errorf("%w: the value is not a valid secp256k1 private key", ErrBadKey)
	}
	return k, nil
}

// KeySource says where LoadKey may find a key. The first non-empty source
// wins, in the order Flag, File, Env.
type KeySource struct {
	Flag     string // value of -mcKey / -scKey
	FlagName string // "-mcKey", for messages
	File     string // path given by -mcKeyFile / -scKeyFile
	FileFlag string // "-mcKeyFile", for messages
	Env      string // EnvMCKey / EnvSCKey
}

// MainChainKeySource and ServiceChainKeySource return the seed's flag names
// with the given values.
func MainChainKeySource(flagValue, file string) KeySource {
	return KeySource{Flag: flagValue, FlagName: "-mcKey", File: file, FileFlag: "-mcKeyFile", Env: EnvMCKey}
}

// ServiceChainKeySource is MainChainKeySource for the service chain.
func ServiceChainKeySource(flagValue, file string) KeySource {
	return KeySource{Flag: flagValue, FlagName: "-scKey", File: file, FileFlag: "-scKeyFile", Env: EnvSCKey}
}

// ErrNoKey is returned by LoadKey when no source holds a key.
var ErrNoKey = errors.New("no funder key given")

// Load returns the key from the first source that is set. A malformed key
// gives a *PreflightError naming the source, never the key.
func (ks KeySource) Load() (*ecdsa.PrivateKey, error) {
	var raw, from string
	switch {
	case ks.Flag != "":
		raw, from = ks.Flag, ks.FlagName
	case ks.File != "":
		b, err := os.ReadFile(ks.File)
		if err != nil {
			return nil, &PreflightError{Check: CheckKey, Target: ks.File,
				Msg: fmt.Sprintf("cannot read key file %s (%v); fix %s", ks.File, pathErrText(err), ks.FileFlag)}
		}
		raw, from = string(b), ks.FileFlag+" "+ks.File
	case ks.Env != "" && os.Getenv(ks.Env) != "":
		raw, from = os.Getenv(ks.Env), "$"+ks.Env
	default:
		return nil, &PreflightError{Check: CheckKey, Target: ks.FlagName, Err: ErrNoKey,
			Msg: fmt.Sprintf("no funder key: set %s, %s or $%s", ks.FileFlag, ks.FlagName, ks.Env)}
	}
	k, err := ParseKey(raw)
	if err != nil {
		return nil, &PreflightError{Check: CheckKey, Target: from, Err: err,
			Msg: fmt.Sprintf("%s: %v; give the funder's raw private key", from, err)}
	}
	return k, nil
}

func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// KeyAddress returns the address of key.
func KeyAddress(key *ecdsa.PrivateKey) common.Address {
	return crypto.PubkeyToAddress(key.PublicKey)
}

// KeyHex returns the 64-digit hex of key, without 0x. Use it only to hand a
// key to a child process or a test; never log it.
func KeyHex(key *ecdsa.PrivateKey) string {
	return hex.EncodeToString(crypto.FromECDSA(key))
}
