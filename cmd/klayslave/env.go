package main

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/klayslave/klayslave/klay"
)

// envPrefix starts the environment variable of every flag.
const envPrefix = "KLAYSLAVE_"

const envHelp = `Every flag can also come from the environment as KLAYSLAVE_<FLAG>: the flag's
name in upper snake case (-mcEndpoint: KLAYSLAVE_MC_ENDPOINT, -max-rps:
KLAYSLAVE_MAX_RPS), shown in brackets below. Flags on the command line win, so
'set -a; . network.env; set +a' is enough to aim at a devnet.`

// envName is the variable of a flag: camelCase and dashes become upper
// SNAKE_CASE, as network.env writes them (mcChainId: KLAYSLAVE_MC_CHAIN_ID).
func envName(flagName string) string {
	var b strings.Builder
	b.WriteString(envPrefix)
	lower := false // the previous rune was a lower-case letter or a digit
	for _, r := range flagName {
		switch {
		case unicode.IsUpper(r):
			if lower {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			lower = false
		case unicode.IsLower(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToUpper(r))
			lower = true
		default:
			b.WriteByte('_')
			lower = false
		}
	}
	return b.String()
}

// keyFlags are read from the environment by klay.KeySource, after
// -mcKeyFile: mapping them here would put the variable before the file.
var keyFlags = map[string]string{"mcKey": klay.EnvMCKey, "scKey": klay.EnvSCKey}

// applyEnv sets every flag that the command line did not set and whose
// variable lookup finds non-empty. It returns the flags it set, with their
// variables. A bad value is a usageError naming the variable.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) (map[string]string, error) {
	onCmdline := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCmdline[f.Name] = true })
	fromEnv := map[string]string{}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || onCmdline[f.Name] || keyFlags[f.Name] != "" {
			return
		}
		name := envName(f.Name)
		v, ok := lookup(name)
		if !ok || v == "" {
			return
		}
		if serr := fs.Set(f.Name, v); serr != nil {
			err = usagef("$%s: invalid value %q for -%s: %v; fix or unset it (a -%s on the command line wins)", name, v, f.Name, serr, f.Name)
			return
		}
		fromEnv[f.Name] = name
	})
	return fromEnv, err
}

// blameEnv adds to a bad-input error about flags set from the environment
// the variables that set them.
func blameEnv(err error, fromEnv map[string]string) error {
	var ue usageError
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	var vars []string
	for flagName, v := range fromEnv {
		if regexp.MustCompile(`-` + regexp.QuoteMeta(flagName) + `([^\w-]|$)`).MatchString(ue.msg) {
			vars = append(vars, "$"+v)
		}
	}
	if len(vars) == 0 {
		return err
	}
	return usagef("%s (set by %s)", ue.msg, strings.Join(vars, ", "))
}

// withEnvNames appends each flag's variable to its usage, for -h.
func withEnvNames(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		if v := keyFlags[f.Name]; v != "" {
			name = v
		}
		f.Usage = fmt.Sprintf("%s [$%s]", f.Usage, name)
	})
}
