package tc

import (
	"errors"
	"math/big"
	"sync"

	"github.com/kaiachain/kaia/common"
)

// errNoNFT is the failure of an NFT iteration whose sender owns no id.
var errNoNFT = errors.New("no NFT left")

// nftPools holds, per direction and sender, the NFT ids the sender owns on
// the source chain of that direction.
type nftPools struct {
	mu  sync.Mutex
	ids [2]map[common.Address][]*big.Int
}

func newNFTPools() *nftPools {
	return &nftPools{ids: [2]map[common.Address][]*big.Int{{}, {}}}
}

// take removes and returns an id the owner holds for sending in d, or nil.
func (p *nftPools) take(d direction, owner common.Address) *big.Int {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.ids[d][owner]
	if len(ids) == 0 {
		return nil
	}
	id := ids[len(ids)-1]
	p.ids[d][owner] = ids[:len(ids)-1]
	return id
}

// put gives the owner id to send in d.
func (p *nftPools) put(d direction, owner common.Address, id *big.Int) {
	p.mu.Lock()
	p.ids[d][owner] = append(p.ids[d][owner], id)
	p.mu.Unlock()
}

// size returns how many ids are pooled for d.
func (p *nftPools) size(d direction) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, ids := range p.ids[d] {
		n += len(ids)
	}
	return n
}
