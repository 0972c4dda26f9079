// Package tc holds klayslave's built-in test cases and their registry.
//
// A test case is prepared once per worker (Case.New), which returns a Task.
// The runner hands each user iterations; one call of Task.Run is one
// iteration, whose results flow as values to a stats.Sink.
package tc

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
)

// Task runs one iteration of a test case: the runner's interface.
type Task = runner.Task

// TaskFunc adapts a function to Task.
type TaskFunc = runner.TaskFunc

// Env is what a test case may use while it prepares.
type Env struct {
	MCEndpoint string
	SCEndpoint string
	// HTTP is shared by all users; its pool is sized for the user count.
	HTTP *http.Client
	Log  *slog.Logger

	// MC and SC are set, with funded test accounts, when a selected case
	// has NeedsChains; nil otherwise.
	MC, SC *Chain
	// Subbridge is the client of the node that serves subbridge_* RPC
	// (-subbridgeEndpoint, by default the service-chain node).
	Subbridge *klay.Client
	// MCBridge and SCBridge are the bridge contracts given by -mcBridge
	// and -scBridge; zero means deploy (or reuse) a pair.
	MCBridge, SCBridge common.Address
	// Contracts are main-chain contract addresses given by the user, by
	// contracts name (contracts.ERC20, ...): the catalogue's cases use
	// them instead of deploying their own.
	Contracts map[string]common.Address
	// StateDir is where set-up shared by several workers is recorded.
	StateDir string
	// Direction restricts bridge cases to one way: "main-to-service" or
	// "service-to-main"; empty (or "both") picks at random per iteration.
	Direction string
}

// Chain is one chain as the test cases see it.
type Chain struct {
	Name    string // "main" or "service"
	Client  *klay.Client
	ChainID *big.Int
	// Funder pays for set-up: deployments, bridge charges, token minting.
	Funder *klay.Account
	// Accounts are this worker's funded test accounts.
	Accounts []*klay.Account
	// FeePayers are funded accounts that only sign as fee payers of
	// fee-delegated transactions; set when a case has NeedsFeePayers.
	FeePayers []*klay.Account
	// Lanes send the test accounts' transactions (one lane per account)
	// and follow each to its block.
	Lanes *klay.Lanes
	// Waiter is the chain's block scanner: set-up transactions and the
	// bridge cases' handle transactions are awaited through it.
	Waiter klay.Waiter
}

// Case describes one built-in test case.
type Case struct {
	Name        string
	Aliases     []string
	Description string
	// Family groups cases in 'klayslave list' (bridge, main, native,
	// ethereum, token, execution, read, ...).
	Family string
	// Weight is the relative share of iterations a user gives this case
	// when it runs several (-tc a,b). Zero means 1.
	Weight int
	// NeedsChains: the case sends transactions, so klayslave checks both
	// chains, creates and funds test accounts before New (Env.MC, Env.SC).
	NeedsChains bool
	// NeedsFeePayers: the case sends fee-delegated transactions, so
	// klayslave also funds (and sweeps) fee-payer accounts (Chain.FeePayers).
	NeedsFeePayers bool
	// New prepares the case once, before the load starts.
	New func(ctx context.Context, env *Env) (Task, error)
}

// unsupported says why klayslave cannot run a kaia-load-tester case it
// knows by name, and what to do instead.
func unsupported(name string) (string, bool) {
	switch name {
	case "newAccountCreationTC":
		return "Kaia v1.0.3 has no TxTypeAccountCreation, so it cannot run; remove it from -tc (newAccountUpdateTC covers account keys)", true
	}
	return "", false
}

// Registry finds test cases by name or alias.
type Registry struct {
	cases   []Case
	byName  map[string]int
	presets []Preset
}

// NewRegistry returns a registry of the given cases.
func NewRegistry(cases ...Case) *Registry {
	r := &Registry{byName: map[string]int{}}
	for _, c := range cases {
		r.cases = append(r.cases, c)
		i := len(r.cases) - 1
		r.byName[c.Name] = i
		for _, a := range c.Aliases {
			r.byName[a] = i
		}
	}
	return r
}

// Builtin returns the registry of every built-in test case.
func Builtin() *Registry {
	var all []Case
	for _, family := range [][]Case{
		{noop()},
		reads(),
		{scValueTransfer(), scValueTransferWithCheck(), scValueTransferFallback(), scTokenTransfer(),
			scTokenTransferWithCheck(), scTokenTransfer2Step(), scNFTTransferWithCheck(), scNFTTransfer2Step()},
		{mcValueTransfer(), scChainValueTransfer(), transferSignedTx()},
		tokenCases(),
		execCases(),
		nativeFamily(),
		ethereumFamily(),
	} {
		all = append(all, family...)
	}
	r := NewRegistry(all...)
	r.presets = presets()
	return r
}

// All returns every case, sorted by name.
func (r *Registry) All() []Case {
	out := append([]Case(nil), r.cases...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns every canonical name, sorted.
func (r *Registry) Names() []string {
	var names []string
	for _, c := range r.All() {
		names = append(names, c.Name)
	}
	return names
}

// Lookup finds a case by name or alias.
func (r *Registry) Lookup(name string) (Case, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Case{}, false
	}
	return r.cases[i], true
}

// Presets returns the named mixes, in the table's order.
func (r *Registry) Presets() []Preset { return append([]Preset(nil), r.presets...) }

// Preset finds a named mix.
func (r *Registry) Preset(name string) (Preset, bool) {
	for _, p := range r.presets {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}

// CheckPresets returns a problem for every preset that names a case this
// registry lacks, or whose name is also a case's.
func (r *Registry) CheckPresets() []error {
	var errs []error
	for _, p := range r.presets {
		if _, ok := r.Lookup(p.Name); ok {
			errs = append(errs, fmt.Errorf("preset %s has the name of a test case", p.Name))
		}
		for _, w := range p.Cases {
			if _, ok := r.Lookup(w.Name); !ok {
				errs = append(errs, fmt.Errorf("preset %s names test case %s, which is not built in", p.Name, w.Name))
			}
		}
	}
	return errs
}

func (r *Registry) presetNames() []string {
	var names []string
	for _, p := range r.presets {
		names = append(names, p.Name)
	}
	return names
}

// Parse resolves a comma-separated -tc value: test case names or aliases,
// each optionally weighted as name:N (a whole number from 1 to
// runner.MaxWeight; 1 by default), and presets by name (optionally as
// preset:name), which bring their cases with their weights. A case named
// twice is kept once, with its first weight.
func (r *Registry) Parse(list string) ([]Case, error) {
	var out []Case
	seen := map[string]bool{}
	add := func(c Case, w int) {
		if !seen[c.Name] {
			seen[c.Name] = true
			if w != 0 {
				c.Weight = w
			}
			out = append(out, c)
		}
	}
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, weight, err := splitWeight(item)
		if err != nil {
			return nil, err
		}
		explicit := strings.HasPrefix(name, "preset:")
		if c, ok := r.Lookup(name); ok && !explicit {
			add(c, weight)
			continue
		}
		p, ok := r.Preset(strings.TrimPrefix(name, "preset:"))
		if why, no := unsupported(name); !ok && no {
			return nil, fmt.Errorf("test case %q: %s", name, why)
		}
		if !ok {
			return nil, fmt.Errorf("unknown test case %q in -tc; valid names: %s; presets: %s (see 'klayslave list')",
				name, strings.Join(r.Names(), ", "), strings.Join(r.presetNames(), ", "))
		}
		if weight != 0 {
			return nil, fmt.Errorf("-tc: preset %s takes no weight (%s); weight its cases instead, e.g. %s:%d", p.Name, item, p.Cases[0].Name, weight)
		}
		for _, w := range p.Cases {
			c, ok := r.Lookup(w.Name)
			if !ok {
				return nil, fmt.Errorf("-tc: preset %s names test case %s, which this build lacks", p.Name, w.Name)
			}
			add(c, w.Weight)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-tc names no test case; give one or more of: %s", strings.Join(r.Names(), ", "))
	}
	for i := range out {
		out[i].Weight = max(out[i].Weight, 1)
	}
	return out, nil
}

// splitWeight splits "name:N"; weight 0 means none was given.
func splitWeight(item string) (string, int, error) {
	i := strings.LastIndexByte(item, ':')
	if i < 0 || strings.HasPrefix(item, "preset:") && i == len("preset:")-1 {
		return item, 0, nil
	}
	name, ws := strings.TrimSpace(item[:i]), strings.TrimSpace(item[i+1:])
	w, err := strconv.Atoi(ws)
	if err != nil || w < 1 || w > runner.MaxWeight || ws[0] == '+' {
		return "", 0, fmt.Errorf("-tc: weight %q of %s is not a whole number from 1 to %d; write name:N, e.g. %s:2", ws, name, runner.MaxWeight, name)
	}
	return name, w, nil
}
