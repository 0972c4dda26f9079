package klay

import (
	"testing"

	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/common"
)

// receiptsOf builds n receipts as Kaia's blocks commit to them: status 1
// and gas each, no logs; change alters one of them.
func receiptsOf(n int, gas uint64, change func(i int, r *types.Receipt)) types.Receipts {
	rs := make(types.Receipts, n)
	for i := range rs {
		rs[i] = &types.Receipt{Status: types.ReceiptStatusSuccessful, GasUsed: gas}
		if change != nil {
			change(i, rs[i])
		}
	}
	return rs
}

// The root Kaia's own derivations give n successful alike receipts is
// recognised under each of them, whichever is tried first; any other
// receipts' root is not.
func TestProvenUniform(t *testing.T) {
	const gas = 21000
	// The count comes from the block's own list of transactions, one
	// receipt each (the simple derivation pads an odd level with its last
	// hash, so n-1 alike receipts would pass for n).
	for impl, d := range rootImpls {
		for _, n := range []int{1, 2, 3, 127, 128, 129, 1000} {
			root := d.DeriveSha(receiptsOf(n, gas, nil))
			for hint := -1; hint <= len(rootImpls); hint++ { // out of range too
				g, matched, ok := provenUniform(root, n, uint64(n)*gas, hint, true)
				// One receipt: simple and concat agree (the hash of it).
				if !ok || g != gas || rootImpls[matched].DeriveSha(receiptsOf(n, gas, nil)) != root {
					t.Fatalf("impl %d, %d receipts, hint %d: got gas %d, impl %d, %v; want %d, true", impl, n, hint, g, matched, ok, gas)
				}
				// Not all: the hint alone, if it is one.
				_, _, ok = provenUniform(root, n, uint64(n)*gas, hint, false)
				want := hint < 0 || hint >= len(rootImpls) || rootImpls[hint].DeriveSha(receiptsOf(n, gas, nil)) == root
				if ok != want {
					t.Fatalf("impl %d, %d receipts, hint %d alone: proven %v, want %v", impl, n, hint, ok, want)
				}
			}
		}
		n := 200
		other := map[string]types.Receipts{
			"one failed": receiptsOf(n, gas, func(i int, r *types.Receipt) {
				if i == 150 {
					r.Status = types.ReceiptStatusFailed
				}
			}),
			"one reverted (txError 0x09)": receiptsOf(n, gas, func(i int, r *types.Receipt) {
				if i == 0 {
					r.Status = 0x09
				}
			}),
			"one logged": receiptsOf(n, gas, func(i int, r *types.Receipt) {
				if i == 7 {
					r.Logs = []*types.Log{{Address: common.HexToAddress("0x01")}}
				}
			}),
			"gas differs, same total": receiptsOf(n, gas, func(i int, r *types.Receipt) {
				switch i {
				case 3:
					r.GasUsed = gas + 1
				case 4:
					r.GasUsed = gas - 1
				}
			}),
			"other gas": receiptsOf(n, gas+3, nil),
			"one bloomed": receiptsOf(n, gas, func(i int, r *types.Receipt) {
				if i == n-1 {
					r.Bloom[0] = 1
				}
			}),
		}
		for name, rs := range other {
			if g, _, ok := provenUniform(d.DeriveSha(rs), n, uint64(n)*gas, impl, true); ok {
				t.Errorf("impl %d, %s: proven (gas %d)", impl, name, g)
			}
		}
	}
	for _, c := range []struct {
		n   int
		gas uint64
	}{{0, 0}, {-1, 21000}, {3, 63001}} {
		if _, _, ok := provenUniform(common.Hash{1}, c.n, c.gas, -1, true); ok {
			t.Errorf("%d receipts, gas %d: proven", c.n, c.gas)
		}
	}
}

// Recognising a saturated block's root costs klayslave this much CPU;
// asking the node for its receipts instead costs the node about 16.7 µs a
// transaction and klayslave the decoding (BenchmarkDecodeBlockReceipts).
func BenchmarkProvenUniform(b *testing.B) {
	const n, gas = 5000, 21000
	for impl, d := range rootImpls {
		root := d.DeriveSha(receiptsOf(n, gas, nil))
		b.Run([]string{"orig", "simple", "concat"}[impl], func(b *testing.B) {
			for b.Loop() {
				if _, _, ok := provenUniform(root, n, n*gas, impl, false); !ok {
					b.Fatal("not proven")
				}
			}
		})
	}
}
