#!/usr/bin/env python3
"""Counts a load run's transactions from the blocks, for bench/saturation.sh.

usage: blockcount.py URL FIRST LAST FUNDER

Scans blocks FIRST..LAST and counts the transactions that are neither from
nor to FUNDER (funding and sweep go through the funder; the load's transfers
are between test accounts). Prints one JSON object: per-block counts and
times, the total, the rate over the blocks that hold the load, and the
lowest 10-block window in the middle of the run against the mean.
"""
import json, sys, urllib.request

url, first, last, funder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].lower()

def call(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())["result"]

blocks = []
for n in range(first, last + 1):
    b = call("klay_getBlockByNumber", [hex(n), True])
    t = int(b["timestamp"], 16) + int(b.get("timestampFoS", "0x0"), 16) / 100
    ours = sum(1 for tx in b["transactions"]
               if (tx.get("from") or "").lower() != funder and (tx.get("to") or "").lower() != funder)
    blocks.append({"number": n, "time": t, "txs": len(b["transactions"]), "ours": ours})

load = [b for b in blocks if b["ours"] > 0]
out = {"blocks": blocks, "ours": sum(b["ours"] for b in blocks)}
if len(load) >= 2:
    lo, hi = blocks.index(load[0]), blocks.index(load[-1])
    span = blocks[hi]["time"] - blocks[lo]["time"]
    # Blocks lo+1..hi were produced over span seconds; block lo's load
    # arrived before it, so it is left out of the rate.
    out["tps"] = sum(b["ours"] for b in blocks[lo + 1:hi + 1]) / span if span > 0 else 0
    mid = blocks[lo:hi + 1]
    mean = sum(b["ours"] for b in mid) / len(mid)
    # 10-block windows in the middle: the first and last 10 % left out.
    cut = len(mid) // 10
    inner = mid[cut:len(mid) - cut]
    windows = [sum(b["ours"] for b in inner[i:i + 10]) / 10 for i in range(0, max(1, len(inner) - 9))]
    out["mean_per_block"] = mean
    out["min_10block_window"] = min(windows) if windows else 0
    out["min_window_over_mean"] = (min(windows) / mean) if windows and mean else 0
    out["empty_blocks_in_run"] = sum(1 for b in mid if b["ours"] == 0)
print(json.dumps(out))
