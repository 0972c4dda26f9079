package klay

import (
	"testing"
	"time"
)

func TestBlockTally(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var bt BlockTally
	for _, b := range []BlockStats{
		{Number: 10, Time: t0, Interval: time.Second, Ours: 100, Txs: 101, GasUsed: 21000 * 101},
		{Number: 11, Time: t0.Add(time.Second), Interval: time.Second, Ours: 0, Txs: 0},
		{Number: 11, Time: t0.Add(time.Second), Interval: time.Second, Ours: 7, Txs: 7}, // rescan
		{Number: 12, Time: t0.Add(3 * time.Second), Interval: 2 * time.Second, Ours: 200, Txs: 200},
	} {
		bt.Add(b)
	}
	got := bt.Get()
	if got.Blocks != 3 || got.First != 10 || got.Last != 12 || got.Ours != 300 || got.All != 301 ||
		got.EmptyOfOurs != 1 || got.MaxInterval != 2*time.Second || got.Span != 4*time.Second {
		t.Fatalf("tally = %+v", got)
	}
	if tps := got.TPS(); tps != 75 {
		t.Fatalf("TPS = %v, want 300 / 4 s = 75", tps)
	}
	bt.Reset()
	if bt.Get().Blocks != 0 {
		t.Fatal("Reset kept blocks")
	}
}
