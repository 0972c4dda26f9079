package tc

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/kaiachain/kaia/common"
	"github.com/klayslave/klayslave/contracts"
	"github.com/klayslave/klayslave/klay"
)

func mustLoad(t *testing.T, name string) *contracts.Contract {
	t.Helper()
	k, err := contracts.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestTokenFamilyE2E runs erc20TransferTC and erc721TransferTC together on
// the devnet for familyRun each: every transfer is included with status 1,
// the ERC-20 balances moved by exactly the transfers, and every ERC-721 id
// is owned on chain by the account the pools say.
func TestTokenFamilyE2E(t *testing.T) {
	env := mainEnv(t, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mc := env.MC

	erc20 := newCase(t, ctx, env, tokenCases(), "erc20TransferTC").(*erc20Transfer)
	var mu sync.Mutex
	var sent20 tickets
	moves := map[*klay.Ticket][2]common.Address{}
	erc20.sent = func(tk *klay.Ticket, from, to common.Address) {
		sent20.add(tk)
		mu.Lock()
		moves[tk] = [2]common.Address{from, to}
		mu.Unlock()
	}
	erc721 := newCase(t, ctx, env, tokenCases(), "erc721TransferTC").(*erc721Transfer)
	var sent721 tickets
	erc721.sent = func(tk *klay.Ticket, _, _ common.Address, _ *big.Int) { sent721.add(tk) }
	initial := erc721.owned.snapshot()

	// Set-up gave every account its tokens before the load.
	before := map[common.Address]*big.Int{}
	for _, a := range mc.Accounts {
		before[a.Address] = viewBig(t, mc, contracts.ERC20, erc20.token, "balanceOf", a.Address)
		if before[a.Address].Cmp(erc20PerAccount) < 0 {
			t.Fatalf("%s holds %v ERC-20 base units after set-up, want at least %v", a.Address.Hex(), before[a.Address], erc20PerAccount)
		}
		if n := viewBig(t, mc, contracts.ERC721, erc721.token, "balanceOf", a.Address); n.Int64() != erc721PerAccount {
			t.Fatalf("%s owns %v ERC-721 tokens after set-up, want %d", a.Address.Hex(), n, erc721PerAccount)
		}
	}

	rec := newCounts()
	pace(ctx, []Task{erc20, erc721}, familyRate, familyRun, rec)
	settle(t, env)
	rec.failures(t)
	checkIncluded(t, rec, "erc20TransferTC", len(sent20.all))
	checkIncluded(t, rec, "erc721TransferTC", len(sent721.all))

	// ERC-20: each account's balance moved by exactly its transfers.
	want := map[common.Address]*big.Int{}
	for a, b := range before {
		want[a] = new(big.Int).Set(b)
	}
	for tk, m := range moves {
		if inc, err := wait(ctx, tk); err != nil {
			t.Fatalf("ERC-20 transfer %s: %v (block %d)", tk.Tx.Hash().Hex(), err, inc.Block)
		}
		want[m[0]].Sub(want[m[0]], erc20Moved)
		want[m[1]].Add(want[m[1]], erc20Moved)
	}
	moved := 0
	for a, w := range want {
		got := viewBig(t, mc, contracts.ERC20, erc20.token, "balanceOf", a)
		if got.Cmp(w) != 0 {
			t.Errorf("ERC-20 balance of %s is %v, want %v", a.Hex(), got, w)
		}
		if got.Cmp(before[a]) != 0 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no ERC-20 balance moved")
	}

	// ERC-721: the chain agrees with the pools, and ids changed hands.
	owner := func(id *big.Int) common.Address {
		a, err := klay.ViewAddress(ctx, mc.Client, mustLoad(t, contracts.ERC721).ABI, erc721.token, "ownerOf", id)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	changed := 0
	for a, ids := range erc721.owned.snapshot() {
		for _, id := range ids {
			if got := owner(id); got != a {
				t.Errorf("ERC-721 id %v is owned by %s, the pools say %s", id, got.Hex(), a.Hex())
			}
		}
	}
	for a, ids := range initial {
		for _, id := range ids {
			if owner(id) != a {
				changed++
			}
		}
	}
	if changed == 0 {
		t.Error("no ERC-721 id changed owner")
	}
	t.Logf("erc20TransferTC: %d transfers, %d balances moved; erc721TransferTC: %d transfers, %d ids changed owner",
		len(sent20.all), moved, len(sent721.all), changed)
}
