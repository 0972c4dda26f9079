package klay

import (
	"context"
	"fmt"
	"math/big"
	"sync"
	"time"
)

// GasPricer caches a node's gas price, so that sending a transaction does
// not cost a klay_gasPrice call too. It is safe for concurrent use.
type GasPricer struct {
	c     *Client
	fixed *big.Int
	ttl   time.Duration

	mu    sync.Mutex // held while asking the node: one call, not one per sender
	price *big.Int
	at    time.Time
}

// NewGasPricer returns a cache over c's klay_gasPrice. A non-nil fixed is
// returned as is and the node is never asked. ttl is how long an answer is
// reused; 0 keeps it until Refresh.
func NewGasPricer(c *Client, fixed *big.Int, ttl time.Duration) *GasPricer {
	return &GasPricer{c: c, fixed: fixed, ttl: ttl}
}

// Get returns the cached price, asking the node when there is none or it
// is older than the TTL.
func (p *GasPricer) Get(ctx context.Context) (*big.Int, error) {
	if p.fixed != nil {
		return p.fixed, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.price != nil && (p.ttl == 0 || time.Since(p.at) < p.ttl) {
		return p.price, nil
	}
	gp, err := p.c.GasPrice(ctx)
	if err != nil {
		return nil, fmt.Errorf("gas price from %s: %w", p.c.URL(), err)
	}
	p.price, p.at = gp, time.Now()
	return gp, nil
}

// Refresh forgets the cached price if it is still stale, the price a node
// has just turned down as underpriced; the next Get asks again.
func (p *GasPricer) Refresh(stale *big.Int) {
	p.mu.Lock()
	if p.price != nil && p.price.Cmp(stale) == 0 {
		p.price = nil
	}
	p.mu.Unlock()
}
