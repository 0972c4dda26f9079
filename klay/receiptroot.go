package klay

import (
	"github.com/kaiachain/kaia/blockchain/types"
	"github.com/kaiachain/kaia/blockchain/types/derivesha"
	"github.com/kaiachain/kaia/common"
	"github.com/kaiachain/kaia/rlp"
)

// A block's header commits to its receipts: receiptsRoot is a hash over
// each receipt's consensus fields (status, gas used, bloom, logs). At
// saturation nearly every block holds only value transfers, each of which
// succeeded, used the same gas and logged nothing. For such a block the
// root can be computed without the receipts, and if it equals the
// header's, the chain itself says what every receipt holds. Asking for
// them instead costs the node 16.7 µs of CPU a transaction and 1 KB of
// JSON each (5 MB for a full block), taken from the very node under test
// (docs/benchmarks.md, "The node's CPU for the receipts").

// rootImpls are the ways a Kaia chain derives the root, in the order of
// types.ImplDeriveSha*: which one a chain uses is a governance parameter
// (homi's default is the original trie; Kaia's public networks concatenate),
// and a match with any of them proves the receipts alike.
var rootImpls = [...]derivesha.IDeriveSha{derivesha.DeriveShaOrig{}, derivesha.DeriveShaSimple{}, derivesha.DeriveShaConcat{}}

// sameReceipts is a types.DerivableList of n copies of one encoded receipt.
type sameReceipts struct {
	n   int
	rlp []byte
}

func (s sameReceipts) Len() int          { return s.n }
func (s sameReceipts) GetRlp(int) []byte { return s.rlp }

// provenUniform reports whether root commits to n receipts that each
// succeeded, used gasUsed/n gas and logged nothing; gasUsed is the
// header's total. It tries the derivation impl (the one that matched
// before), and the others too when all is set or impl is not one; it
// returns the gas of each and the derivation that matched.
func provenUniform(root common.Hash, n int, gasUsed uint64, impl int, all bool) (gas uint64, matched int, ok bool) {
	if n <= 0 || gasUsed%uint64(n) != 0 {
		return 0, impl, false
	}
	gas = gasUsed / uint64(n)
	enc, err := rlp.EncodeToBytes(&types.Receipt{Status: types.ReceiptStatusSuccessful, GasUsed: gas})
	if err != nil {
		return 0, impl, false
	}
	list := sameReceipts{n: n, rlp: enc}
	tries := len(rootImpls)
	if impl < 0 || impl >= len(rootImpls) {
		impl = 0
	} else if !all {
		tries = 1
	}
	for i := range tries {
		k := (impl + i) % len(rootImpls)
		if rootImpls[k].DeriveSha(list) == root {
			return gas, k, true
		}
	}
	return 0, impl, false
}
