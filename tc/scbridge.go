package tc

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/bridge"
	"github.com/klayslave/klayslave/klay"
	"github.com/klayslave/klayslave/runner"
	"github.com/klayslave/klayslave/stats"
)

// direction of a bridge transfer.
type direction int

const (
	mainToService direction = iota
	serviceToMain
)

func (d direction) String() string {
	if d == mainToService {
		return "main→service"
	}
	return "service→main"
}

// flag is the direction as -bridge-direction names it: a label value
// without the arrow.
func (d direction) flag() string {
	if d == mainToService {
		return "main-to-service"
	}
	return "service-to-main"
}

// randomDirection is the default direction picker: each iteration goes
// either way with equal chance.
func randomDirection() direction { return direction(rand.IntN(2)) }

// directionPicker returns the picker for Env.Direction.
func directionPicker(name string) (func() direction, error) {
	switch name {
	case "", "both":
		return randomDirection, nil
	case "main-to-service":
		return func() direction { return mainToService }, nil
	case "service-to-main":
		return func() direction { return serviceToMain }, nil
	}
	return nil, fmt.Errorf("bridge direction %q: want both, main-to-service or service-to-main", name)
}

// leg is one direction of a bridge: the request is sent on src to
// srcBridge, and the operator handles it on dst.
type leg struct {
	dir       direction
	src, dst  *chainTx
	srcBridge common.Address
	srcToken  common.Address // ERC-20 or ERC-721 on src, when the case uses one
	dstToken  common.Address
}

// sender sends one request on a leg from `from` to `to` (an address on
// the other chain) and returns the request transaction. id is the NFT
// id for NFT cases, nil otherwise.
type sender func(ctx context.Context, l *leg, from *klay.Account, to common.Address, id *big.Int) (*klay.Ticket, error)

// bridgeTask runs one bridge transfer per iteration in a random direction.
// The iteration succeeds when a block holds the request with status 1;
// with a tracker an aside row also records the end-to-end latency until
// the handle receipt.
type bridgeTask struct {
	// names are the stats rows per direction, "<case> main→service", and
	// e2e their end-to-end rows; built once, not per request.
	names [2]txNames
	e2e   [2]string
	legs  [2]*leg
	dir   func() direction
	send  sender
	// track, when set, follows each request to its handle receipt.
	track *tracker
	// nfts, when set, hands out an NFT id the sender owns per iteration.
	nfts *nftPools
}

// Run implements Task.
func (b *bridgeTask) Run(ctx context.Context, it runner.Iteration, out stats.Sink) {
	l := b.legs[b.dir()]
	from := l.src.from()
	to := pick(l.dst.chain.Accounts)
	names := b.names[l.dir]
	var id *big.Int
	if b.nfts != nil {
		if id = b.nfts.take(l.dir, from.Address); id == nil {
			reportTx(ctx, it, out, names, nil, errNoNFT, nil)
			return
		}
	}
	tk, err := b.send(ctx, l, from, to.Address, id)
	if tk == nil && id != nil {
		b.nfts.put(l.dir, from.Address, id) // still ours: the request was not taken
	}
	var included func(klay.Inclusion)
	if b.track != nil || id != nil {
		included = func(klay.Inclusion) {
			if b.track == nil {
				// No end-to-end tracking: the id cannot be followed
				// back, so it stays with the bridge.
				return
			}
			x := &transfer{name: b.e2e[l.dir], out: out, dst: l.dst.chain.Waiter, dstC: l.dst.chain.Client,
				req: tk.Tx.Hash(), start: it.Due}
			if id != nil {
				// Once handled, the recipient owns the id on the other
				// chain and the bridge this side holds it: it can travel back.
				back := 1 - l.dir
				x.done = func(ok bool) {
					if ok {
						b.nfts.put(back, to.Address, id)
					}
				}
			}
			b.track.add(x)
		}
	}
	reportTx(ctx, it, out, names, tk, err, included)
}

// bridgeSetup is what New of every bridge case prepares: the shared
// set-up (bridge pair, wanted tokens) and both legs.
type bridgeSetup struct {
	cfg   bridge.Config
	state bridge.State
	abis  bridge.ABIs
	mc    *chainTx
	sc    *chainTx
	legs  [2]*leg
	dir   func() direction
}

// bridgeConfig turns the env into the set-up configuration. Without
// -subbridgeEndpoint the service-chain node serves subbridge_*.
func bridgeConfig(env *Env) (bridge.Config, error) {
	if err := needAccounts(env.MC, env.SC); err != nil {
		return bridge.Config{}, err
	}
	if (env.MCBridge == common.Address{}) != (env.SCBridge == common.Address{}) {
		return bridge.Config{}, fmt.Errorf("give both -mcBridge and -scBridge, or neither")
	}
	sb := env.Subbridge
	if sb == nil {
		sb = env.SC.Client
	}
	side := func(c *Chain) bridge.Side {
		return bridge.Side{Name: c.Name, Client: c.Client, ChainID: c.ChainID, Funder: c.Funder, Waiter: c.Waiter}
	}
	return bridge.Config{
		MC: side(env.MC), SC: side(env.SC), Subbridge: sb,
		Given:    bridge.Pair{Parent: env.MCBridge, Child: env.SCBridge},
		StateDir: env.StateDir, Log: env.Log,
	}, nil
}

// setupBridge runs the shared, idempotent set-up (it is recorded in
// env.StateDir, so the first case of the first worker deploys and every
// other reuses) and builds both legs.
func setupBridge(ctx context.Context, env *Env, want bridge.Want) (*bridgeSetup, error) {
	cfg, err := bridgeConfig(env)
	if err != nil {
		return nil, err
	}
	st, err := bridge.Setup(ctx, cfg, want)
	if err != nil {
		return nil, fmt.Errorf("bridge set-up: %w", err)
	}
	abis, err := bridge.LoadABIs()
	if err != nil {
		return nil, err
	}
	dir, err := directionPicker(env.Direction)
	if err != nil {
		return nil, err
	}
	s := &bridgeSetup{cfg: cfg, state: st, abis: abis, mc: newChainTx(env.MC), sc: newChainTx(env.SC), dir: dir}
	s.legs[mainToService] = &leg{dir: mainToService, src: s.mc, dst: s.sc, srcBridge: st.Bridge.Parent}
	s.legs[serviceToMain] = &leg{dir: serviceToMain, src: s.sc, dst: s.mc, srcBridge: st.Bridge.Child}
	return s, nil
}

// withTokens sets the legs' token addresses to a token pair.
func (s *bridgeSetup) withTokens(t bridge.TokenPair) {
	s.legs[mainToService].srcToken, s.legs[mainToService].dstToken = t.Parent, t.Child
	s.legs[serviceToMain].srcToken, s.legs[serviceToMain].dstToken = t.Child, t.Parent
}

// task returns the Task of a case over these legs.
func (s *bridgeSetup) task(name string, send sender) *bridgeTask {
	t := &bridgeTask{legs: s.legs, dir: s.dir, send: send}
	for _, d := range []direction{mainToService, serviceToMain} {
		t.names[d] = namesOf(name+" "+d.String()).on(s.legs[d].src.chain.Name, d.flag())
		t.e2e[d] = t.names[d].iter + " e2e"
	}
	return t
}

// perLeg runs f for both legs, for set-up steps done once per direction
// (reading fees, estimating gas).
func (s *bridgeSetup) perLeg(f func(l *leg) error) error {
	for _, l := range s.legs {
		if err := f(l); err != nil {
			return fmt.Errorf("%s: %w", l.dir, err)
		}
	}
	return nil
}
