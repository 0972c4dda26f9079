package main

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestEnvNameIsUpperSnakeCase(t *testing.T) {
	for flagName, want := range map[string]string{
		"mcEndpoint":              "KLAYSLAVE_MC_ENDPOINT",
		"mcChainId":               "KLAYSLAVE_MC_CHAIN_ID",
		"mcWsEndpoint":            "KLAYSLAVE_MC_WS_ENDPOINT",
		"subbridgeEndpoint":       "KLAYSLAVE_SUBBRIDGE_ENDPOINT",
		"numMcUser":               "KLAYSLAVE_NUM_MC_USER",
		"max-rps":                 "KLAYSLAVE_MAX_RPS",
		"max-pending-per-account": "KLAYSLAVE_MAX_PENDING_PER_ACCOUNT",
		"metrics-addr":            "KLAYSLAVE_METRICS_ADDR",
		"tc":                      "KLAYSLAVE_TC",
	} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

// Every flag has a variable of its own.
func TestEnvNamesAreDistinct(t *testing.T) {
	var o options
	seen := map[string]string{}
	newFlagSet("klayslave run", &o, true).VisitAll(func(f *flag.Flag) {
		n := envName(f.Name)
		if other, dup := seen[n]; dup {
			t.Errorf("-%s and -%s both map to %s", f.Name, other, n)
		}
		seen[n] = f.Name
	})
}

// Every variable the devnet writes to network.env names a flag (or a key,
// which klay.KeySource reads), so sourcing it aims klayslave at the devnet.
func TestNetworkEnvVariablesResolveToFlags(t *testing.T) {
	src, err := os.ReadFile("../../devnet/info.go")
	if err != nil {
		t.Fatal(err)
	}
	vars := regexp.MustCompile(`\{"(KLAYSLAVE_[A-Z_]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(vars) < 9 {
		t.Fatalf("found %d variables in devnet/info.go's envFile, want 9 or more", len(vars))
	}
	var o options
	known := map[string]bool{}
	newFlagSet("klayslave run", &o, true).VisitAll(func(f *flag.Flag) { known[envName(f.Name)] = true })
	for _, v := range vars {
		if !known[v[1]] {
			t.Errorf("network.env's %s sets no flag", v[1])
		}
	}
}

func parseWithEnv(t *testing.T, env map[string]string, args ...string) (*options, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	o := &options{}
	return o, parseFlags(newFlagSet("klayslave run", o, true), args, o)
}

func TestFlagsComeFromTheEnvironmentAndTheCommandLineWins(t *testing.T) {
	o, err := parseWithEnv(t, map[string]string{
		"KLAYSLAVE_MC_ENDPOINT":    "http://127.0.0.1:8561",
		"KLAYSLAVE_SC_ENDPOINT":    "http://127.0.0.1:7551",
		"KLAYSLAVE_MC_CHAIN_ID":    "2018",
		"KLAYSLAVE_MC_BRIDGE":      "0x7D85D0d147A223b41fB91b3001F542c254a3cAFa",
		"KLAYSLAVE_MAX_RPS":        "25",
		"KLAYSLAVE_NO_SWEEP":       "true",
		"KLAYSLAVE_RUN_TIME":       "1m",
		"KLAYSLAVE_TC":             "mcValueTransferTc",
		"KLAYSLAVE_DEVNET":         "/not/a/flag", // other variables are left alone
		"KLAYSLAVE_SUBBRIDGE_ENDP": "",
	}, "-max-rps", "5")
	if err != nil {
		t.Fatal(err)
	}
	if o.mcEndpoint != "http://127.0.0.1:8561" || o.scEndpoint != "http://127.0.0.1:7551" || o.mcChainID != 2018 ||
		o.mcBridge == "" || !o.noSweep || o.runTime.Minutes() != 1 || o.tc != "mcValueTransferTc" {
		t.Fatalf("from the environment: %+v", o)
	}
	if o.maxRPS != 5 {
		t.Fatalf("-max-rps 5 on the command line lost to $KLAYSLAVE_MAX_RPS: %v", o.maxRPS)
	}
	if !o.set["mcEndpoint"] {
		t.Error("a flag from the environment is not marked as given")
	}
}

// The keys' variables keep their meaning: read by the key source after
// -mcKeyFile, not turned into -mcKey.
func TestKeyVariablesStayWithTheKeySource(t *testing.T) {
	o, err := parseWithEnv(t, map[string]string{"KLAYSLAVE_MC_KEY": strings.Repeat("ab", 32)})
	if err != nil || o.mcKey != "" {
		t.Fatalf("mcKey = %q, err %v", o.mcKey, err)
	}
}

// A bad value from the environment: exit 2 and one line naming the
// variable.
func TestBadEnvironmentValueExitsTwoNamingTheVariable(t *testing.T) {
	for _, c := range []struct{ env, value, want string }{
		{"KLAYSLAVE_MAX_RPS", "fast", `$KLAYSLAVE_MAX_RPS: invalid value "fast" for -max-rps`},
		{"KLAYSLAVE_MAX_RPS", "-3", "-max-rps must be 0 (no cap) or more, got -3 (set by $KLAYSLAVE_MAX_RPS)"},
		{"KLAYSLAVE_MASTER_PORT", "99999", "$KLAYSLAVE_MASTER_PORT: invalid value \"99999\" for -master-port: want a port number"},
		{"KLAYSLAVE_MC_BRIDGE", "0x12", "(set by $KLAYSLAVE_MC_BRIDGE)"},
		{"KLAYSLAVE_NO_SWEEP", "maybe", "$KLAYSLAVE_NO_SWEEP"},
	} {
		t.Run(c.env+"="+c.value, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			code, _, stderr := runArgs("run", "-tc=noop")
			if code != 2 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and one line containing %q", code, stderr, c.want)
			}
		})
	}
}

func TestHelpNamesTheVariables(t *testing.T) {
	code, out, _ := runArgs("run", "-h")
	for _, want := range []string{"KLAYSLAVE_<FLAG>", "Flags on the command line win", "[$KLAYSLAVE_MC_ENDPOINT]", "[$KLAYSLAVE_MC_KEY]", "[$KLAYSLAVE_METRICS_ADDR]"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("run -h (exit %d) lacks %q", code, want)
		}
	}
}
