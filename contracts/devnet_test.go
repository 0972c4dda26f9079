package contracts_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/internal/devnettest"
	"github.com/klayslave/klayslave/klay"
)

// spareKey is this package's dev key (see devnettest.MinSpare).
const spareKey = 9

// TestOwnContractsRunOnKaia deploys every contract compiled from src/ on
// the devnet's main chain and calls each once: the EVM version the
// compiler targets must be one Kaia v1.0.3 runs.
func TestOwnContractsRunOnKaia(t *testing.T) {
	d := devnettest.Load(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := klay.Dial(ctx, d.MainChain.RPC, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	key, err := klay.ParseKey(d.DevKeys.Spare[spareKey])
	if err != nil {
		t.Fatal(err)
	}
	from := klay.NewAccount(key, c)
	id := d.MainChain.ChainID
	load := func(name string) *contracts.Contract {
		k, err := contracts.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	deploy := func(name string, args ...any) common.Address {
		code, err := load(name).DeployData(args...)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := klay.Deploy(ctx, c, nil, id, from, code)
		if err != nil {
			t.Fatalf("deploy %s: %v", name, err)
		}
		return addr
	}
	call := func(name string, to common.Address, value *big.Int, method string, args ...any) {
		data, err := load(name).ABI.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := klay.Transact(ctx, c, nil, id, from, &to, value, data); err != nil {
			t.Fatalf("%s.%s: %v", name, method, err)
		}
	}
	view := func(name string, to common.Address, method string, args ...any) *big.Int {
		v, err := klay.ViewBig(ctx, c, load(name).ABI, to, method, args...)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Not in 0x0-0x3ff: Kaia refuses value sent to its reserved precompile range.
	other := common.HexToAddress("0x5e11e700000000000000000000000000000000f1")

	erc20 := deploy(contracts.ERC20, big.NewInt(1000))
	call(contracts.ERC20, erc20, nil, "transfer", other, big.NewInt(7))
	if v := view(contracts.ERC20, erc20, "balanceOf", other); v.Int64() != 7 {
		t.Errorf("ERC-20 balance of the recipient is %v, want 7", v)
	}

	nft := deploy(contracts.ERC721)
	call(contracts.ERC721, nft, nil, "mintBatch", []common.Address{from.Address}, big.NewInt(1<<40), big.NewInt(2))
	call(contracts.ERC721, nft, nil, "transferFrom", from.Address, other, big.NewInt(1<<40+1))
	if v := view(contracts.ERC721, nft, "balanceOf", other); v.Int64() != 1 {
		t.Errorf("ERC-721 balance of the recipient is %v, want 1", v)
	}

	cpu := deploy(contracts.CPUHeavy)
	call(contracts.CPUHeavy, cpu, nil, "sort", big.NewInt(50), big.NewInt(3))
	if v := view(contracts.CPUHeavy, cpu, "runs"); v.Int64() != 1 {
		t.Errorf("CPUHeavy ran %v times, want 1", v)
	}

	kv := deploy(contracts.KVStore)
	call(contracts.KVStore, kv, nil, "set", big.NewInt(5), big.NewInt(55))
	if v := view(contracts.KVStore, kv, "get", big.NewInt(5)); v.Int64() != 55 {
		t.Errorf("KVStore holds %v at 5, want 55", v)
	}

	itx := deploy(contracts.InternalTx, nft)
	before, err := c.BalanceAt(ctx, other, nil)
	if err != nil {
		t.Fatal(err)
	}
	call(contracts.InternalTx, itx, big.NewInt(100), "sendRewards", other, other)
	after, err := c.BalanceAt(ctx, other, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := new(big.Int).Sub(after, before); d.Int64() != 100 {
		t.Errorf("InternalTx paid %v, want 100", d)
	}
	if v := view(contracts.ERC721, nft, "balanceOf", other); v.Int64() != 2 {
		t.Errorf("InternalTx minted no token: ERC-721 balance %v, want 2", v)
	}

	lc := deploy(contracts.LargeCalldata)
	call(contracts.LargeCalldata, lc, nil, "put", make([]byte, 4000))
	if v := view(contracts.LargeCalldata, lc, "lastLength"); v.Int64() != 4000 {
		t.Errorf("LargeCalldata saw %v bytes, want 4000", v)
	}
}
