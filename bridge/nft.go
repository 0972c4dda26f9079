package bridge

import (
	"context"
	"fmt"
	"math/big"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
)

// mintChunk is how many NFT ids one registerBulk call mints: each mint
// stores a token URI, so a chunk stays far below any gas limit.
const mintChunk = 20

// firstNFTID is the first id ever handed out; 0 is avoided so that a zero
// value is never mistaken for an id.
const firstNFTID = 1

// ensureERC721 reuses or deploys and registers the ServiceChainNFT pair,
// and gives a bridge in mint/burn mode the minter role. A bridge that pays
// from its holdings gets its ids in MintNFTs.
func (cfg *Config) ensureERC721(ctx context.Context, st *State) error {
	t, err := cfg.ensureTokenPair(ctx, st.Bridge, st.ERC721, contracts.ServiceChainNFT)
	if err != nil {
		return err
	}
	st.ERC721 = t
	for _, x := range cfg.sides(st.Bridge, t) {
		mb, err := MintBurn(ctx, x.side.Client, x.bridge)
		if err != nil {
			return err
		}
		if mb {
			if err := x.side.ensureMinter(ctx, nftABI, x.token, x.bridge); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReserveNFTIDs hands out n NFT ids that no other caller sharing the state
// file gets, and returns the first; the range is [first, first+n).
func ReserveNFTIDs(ctx context.Context, cfg Config, n uint64) (uint64, error) {
	var first uint64
	err := cfg.locked(ctx, func(st *State) error {
		if st.NextNFTID < firstNFTID {
			st.NextNFTID = firstNFTID
		}
		first = st.NextNFTID
		st.NextNFTID += n
		return nil
	})
	return first, err
}

// NFTPools are NFT ids held by test accounts, by address.
type NFTPools map[common.Address][]*big.Int

// MintNFTs gives each main-chain owner perOwner fresh ids on the parent
// NFT and each service-chain owner perOwner fresh ids on the child NFT. A
// bridge that is not in mint/burn mode pays an ERC-721 out by transferring
// it from its own holdings (handleERC721Transfer), so each id is also
// minted to the other chain's bridge unless that bridge mints. It returns
// the ids per owner on each chain.
func MintNFTs(ctx context.Context, cfg Config, st State, mcOwners, scOwners []common.Address, perOwner int) (mc, sc NFTPools, err error) {
	n := uint64((len(mcOwners) + len(scOwners)) * perOwner)
	first, err := ReserveNFTIDs(ctx, cfg, n)
	if err != nil {
		return nil, nil, err
	}
	a, err := loadABI(nftABI)
	if err != nil {
		return nil, nil, err
	}
	parentMB, err := MintBurn(ctx, cfg.MC.Client, st.Bridge.Parent)
	if err != nil {
		return nil, nil, err
	}
	childMB, err := MintBurn(ctx, cfg.SC.Client, st.Bridge.Child)
	if err != nil {
		return nil, nil, err
	}
	next := first
	var mcCalls, scCalls [][]byte
	assign := func(owners []common.Address, pools NFTPools, own, other *[][]byte, otherBridge common.Address, otherMints bool) error {
		for _, o := range owners {
			start, end := next, next+uint64(perOwner)
			next = end
			for id := start; id < end; id++ {
				pools[o] = append(pools[o], new(big.Int).SetUint64(id))
			}
			for s := start; s < end; s += mintChunk {
				e := min(s+mintChunk, end)
				mine, err := a.Pack("registerBulk", o, new(big.Int).SetUint64(s), new(big.Int).SetUint64(e))
				if err != nil {
					return err
				}
				theirs, err := a.Pack("registerBulk", otherBridge, new(big.Int).SetUint64(s), new(big.Int).SetUint64(e))
				if err != nil {
					return err
				}
				*own = append(*own, mine)
				if !otherMints {
					*other = append(*other, theirs)
				}
			}
		}
		return nil
	}
	mc, sc = NFTPools{}, NFTPools{}
	if err := assign(mcOwners, mc, &mcCalls, &scCalls, st.Bridge.Child, childMB); err != nil {
		return nil, nil, err
	}
	if err := assign(scOwners, sc, &scCalls, &mcCalls, st.Bridge.Parent, parentMB); err != nil {
		return nil, nil, err
	}
	errc := make(chan error, 2)
	go func() { errc <- cfg.MC.TransactMany(ctx, st.ERC721.Parent, mcCalls) }()
	go func() { errc <- cfg.SC.TransactMany(ctx, st.ERC721.Child, scCalls) }()
	for range 2 {
		if e := <-errc; e != nil && err == nil {
			err = fmt.Errorf("mint NFTs: %w", e)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return mc, sc, nil
}
