package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

// options holds every flag. The names and defaults of the seed's flags are
// kept exactly, so its command line still works:
//
//	./klayslave -max-rps 10 -mcKey=... -scKey=... -tc="scValueTransferTc"
type options struct {
	// The seed's flags.
	maxRPS     float64
	mcKey      string
	scKey      string
	tc         string
	numMcUser  int
	numScUser  int
	mcEndpoint string
	scEndpoint string
	masterHost string
	masterPort int

	// Ours.
	mcKeyFile      string
	scKeyFile      string
	ramp           time.Duration
	locustProtocol string
	logDir         string
	noSweep        bool
	charge         string
	mcChainID      uint64
	scChainID      uint64
	runID          string
	mcBridge       string
	scBridge       string
	subbridgeURL   string
	direction      string
	mcWsEndpoint   string
	scWsEndpoint   string
	stopTimeout    time.Duration
	drainTimeout   time.Duration
	inclusionBlks  uint64
	maxPending     int
	contracts      map[string]common.Address // -contracts
	reportDir      string
	metricsAddr    string
	cpuProfile     string

	set map[string]bool // flags given on the command line or in the environment

	// Standalone (klayslave run).
	users          int
	spawnRate      float64
	runTime        time.Duration
	failRatio      float64
	reportInterval time.Duration
}

// usageError is bad input: one line on stderr and exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// newFlagSet declares the flags for a command. standalone adds the flags of
// `klayslave run`.
func newFlagSet(name string, o *options, standalone bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported by parseFlags, in one line
	fs.Float64Var(&o.maxRPS, "max-rps", 0, "cap on iterations per second for this worker (0: closed loop)")
	fs.StringVar(&o.mcKey, "mcKey", "", "main-chain funder private key (hex); prefer $KLAYSLAVE_MC_KEY or -mcKeyFile")
	fs.StringVar(&o.scKey, "scKey", "", "service-chain funder private key (hex); prefer $KLAYSLAVE_SC_KEY or -scKeyFile")
	fs.StringVar(&o.tc, "tc", "", "comma-separated test cases to run, each optionally weighted as name:N, or presets by name (see 'klayslave list')")
	fs.IntVar(&o.numMcUser, "numMcUser", 10, "number of main-chain test accounts")
	fs.IntVar(&o.numScUser, "numScUser", 10, "number of service-chain test accounts")
	fs.StringVar(&o.mcEndpoint, "mcEndpoint", "http://localhost:8545", "main-chain node RPC endpoint")
	fs.StringVar(&o.scEndpoint, "scEndpoint", "http://localhost:7545", "service-chain node RPC endpoint")
	fs.StringVar(&o.masterHost, "master-host", "127.0.0.1", "Locust master host")
	fs.Func("master-port", "Locust master port (default 5557)", func(s string) error {
		p, err := strconv.Atoi(s)
		if err != nil || p < 1 || p > 65535 {
			return errors.New("want a port number from 1 to 65535")
		}
		o.masterPort = p
		return nil
	})
	o.masterPort = 5557
	fs.StringVar(&o.mcKeyFile, "mcKeyFile", "", "file holding the main-chain funder key")
	fs.StringVar(&o.scKeyFile, "scKeyFile", "", "file holding the service-chain funder key")
	fs.DurationVar(&o.ramp, "ramp", 0, "raise the -max-rps cap linearly from 1/s over this long (e.g. 30s)")
	fs.StringVar(&o.locustProtocol, "locust-protocol", "2", "Locust master protocol: 2 (Locust 2.x) or 0.9")
	fs.StringVar(&o.logDir, "log-dir", ".", "directory for log and state files (named by funder address)")
	fs.BoolVar(&o.noSweep, "no-sweep", false, "leave the test accounts' funds where they are at the end")
	fs.StringVar(&o.charge, "charge", "10", "KLAY given to each test account before the load")
	fs.Uint64Var(&o.mcChainID, "mcChainId", 0, "expected main-chain id; 0 accepts any")
	fs.Uint64Var(&o.scChainID, "scChainId", 0, "expected service-chain id; 0 accepts any")
	fs.StringVar(&o.runID, "run", "", "run id: names this run's test accounts (default: a new one); with sweep, the run to recover")
	fs.StringVar(&o.mcBridge, "mcBridge", "", "main-chain bridge contract to use (default: deploy or reuse a pair)")
	fs.StringVar(&o.scBridge, "scBridge", "", "service-chain bridge contract to use (default: deploy or reuse a pair)")
	fs.StringVar(&o.subbridgeURL, "subbridgeEndpoint", "", "node serving subbridge_* RPC (default: -scEndpoint)")
	fs.StringVar(&o.direction, "bridge-direction", "both", "bridge cases: both (random per request), main-to-service or service-to-main")
	fs.StringVar(&o.mcWsEndpoint, "mcWsEndpoint", "", "main-chain WebSocket endpoint for new blocks (default: -mcEndpoint's port + 1 over ws; polling if it fails)")
	fs.StringVar(&o.scWsEndpoint, "scWsEndpoint", "", "service-chain WebSocket endpoint for new blocks (default: -scEndpoint's port + 1 over ws; polling if it fails)")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 2*time.Second, "on stop, how long calls in flight may finish before they are cancelled")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", 10*time.Second, "after the users stop, how long to wait for sent transactions to reach a block before the final report")
	fs.Uint64Var(&o.inclusionBlks, "inclusion-timeout", 30, "blocks after which a sent transaction that no block holds is a failure (\"not included\")")
	fs.IntVar(&o.maxPending, "max-pending-per-account", 0, "transactions of one test account awaiting inclusion at most (0: what a default Kaia pool keeps without evicting: 4096 / accounts up to 256 accounts, at most 64; from 256 accounts, 16 or fewer, up to 4800 in all); throughput ≤ accounts × this per block")
	fs.Func("contracts", "main-chain contracts to use instead of deploying, as Name=0xaddress,... (names: "+strings.Join(contracts.Own(), ", ")+")", func(v string) error {
		m, err := parseContracts(v)
		o.contracts = m
		return err
	})
	fs.StringVar(&o.reportDir, "report-dir", "", "at the end, write report.html, report.json and Locust-format CSVs of the run into this directory")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the whole run to this file (go tool pprof), to see where klayslave's own CPU goes")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. :9100 (default: none)")
	if standalone {
		fs.IntVar(&o.users, "users", 10, "number of users")
		fs.Float64Var(&o.spawnRate, "spawn-rate", 10, "users started per second")
		fs.DurationVar(&o.runTime, "run-time", 30*time.Second, "how long to run once all users are started")
		fs.Float64Var(&o.failRatio, "fail-ratio", 0, "exit 1 when failures/requests exceeds this (0 to 1)")
		fs.DurationVar(&o.reportInterval, "report-interval", 3*time.Second, "how often to print the live table")
	}
	return fs
}

// parseFlags parses args, then the environment for the flags args do not
// set (see envName), and validates them. Every error is a usageError; one
// about a flag from the environment names its variable.
func parseFlags(fs *flag.FlagSet, args []string, o *options) error {
	fromEnv := map[string]string{}
	return blameEnv(parseArgs(fs, args, o, fromEnv), fromEnv)
}

func parseArgs(fs *flag.FlagSet, args []string, o *options, fromEnv map[string]string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s; run '%s -h' for the flags", flagMessage(err), fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q; flags go before it, and commands are: run, list, check, sweep", fs.Arg(0))
	}
	env, err := applyEnv(fs, os.LookupEnv)
	if err != nil {
		return err
	}
	maps.Copy(fromEnv, env)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	o.set = set
	switch {
	case o.maxRPS < 0:
		return usagef("-max-rps must be 0 (no cap) or more, got %v", o.maxRPS)
	case o.ramp < 0:
		return usagef("-ramp must be a positive duration such as 30s, got %v", o.ramp)
	case o.numMcUser < 0 || o.numScUser < 0:
		return usagef("-numMcUser and -numScUser must be 0 or more")
	case set["tc"] && strings.Trim(o.tc, ", ") == "":
		return usagef("-tc is empty; give test case names such as -tc=rpcPing (see 'klayslave list')")
	case o.locustProtocol != "2" && o.locustProtocol != "0.9":
		return usagef("-locust-protocol must be 2 or 0.9, got %q", o.locustProtocol)
	case o.users < 0 || o.spawnRate < 0 || o.runTime < 0:
		return usagef("-users, -spawn-rate and -run-time must not be negative")
	case o.failRatio < 0 || o.failRatio > 1:
		return usagef("-fail-ratio must be between 0 and 1, got %v", o.failRatio)
	case o.stopTimeout < 0 || o.drainTimeout < 0:
		return usagef("-stop-timeout and -drain-timeout must not be negative")
	case o.inclusionBlks == 0:
		return usagef("-inclusion-timeout must be 1 block or more")
	case o.maxPending < 0:
		return usagef("-max-pending-per-account must be 1 or more (0: automatic), got %d", o.maxPending)
	case o.direction != "both" && o.direction != "main-to-service" && o.direction != "service-to-main":
		return usagef("-bridge-direction must be both, main-to-service or service-to-main, got %q", o.direction)
	case o.runID != "" && klay.ValidateRunID(o.runID) != nil:
		return usagef("-run %q: %v", o.runID, klay.ValidateRunID(o.runID))
	}
	for flag, v := range map[string]string{"-mcBridge": o.mcBridge, "-scBridge": o.scBridge} {
		if v != "" && !common.IsHexAddress(v) {
			return usagef("%s %q is not an address; give the bridge contract's 0x-prefixed address", flag, v)
		}
	}
	return nil
}

// parseContracts parses -contracts: Name=0xaddress pairs, comma-separated,
// naming contracts compiled from contracts/src.
func parseContracts(v string) (map[string]common.Address, error) {
	m := map[string]common.Address{}
	for _, pair := range strings.Split(v, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, addr, ok := strings.Cut(pair, "=")
		if !ok || !slices.Contains(contracts.Own(), name) {
			return nil, fmt.Errorf("want Name=0xaddress with a name among %s, got %q", strings.Join(contracts.Own(), ", "), pair)
		}
		if !common.IsHexAddress(addr) {
			return nil, fmt.Errorf("%s=%q is not an address; give the 0x-prefixed address of the deployed contract", name, addr)
		}
		m[name] = common.HexToAddress(addr)
	}
	return m, nil
}

// flagMessage rewrites the flag package's errors into one line. It never
// repeats a value given to a key flag.
func flagMessage(err error) string {
	msg := err.Error()
	for _, secret := range []string{"mcKey", "scKey"} {
		if strings.Contains(msg, "-"+secret+":") || strings.Contains(msg, "-"+secret+" ") {
			return "invalid value for -" + secret
		}
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return name + " needs a value"
	}
	return msg
}
