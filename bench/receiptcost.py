#!/usr/bin/env python3
"""What reading a block costs the node, per transaction, for each way the
scanner could read it (docs/benchmarks.md, "Saturation").

usage: receiptcost.py URL PID [BLOCKS]

Takes the last BLOCKS (200) blocks behind the head of URL that hold more
than 1,000 transactions (run a saturation load first), asks each of them
with every method, one call at a time, and prints the CPU time the node
process PID spent per transaction of those blocks (from /proc/PID/stat),
the wall time, and the answer's size. Run it on an otherwise idle node:
the node's other work counts too.
"""
import json, os, sys, time, urllib.request

url, pid = sys.argv[1], sys.argv[2]
depth = int(sys.argv[3]) if len(sys.argv) > 3 else 200
tick = os.sysconf("SC_CLK_TCK")


def rpc(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.read()


def cpu_seconds():
    # utime and stime, fields 14 and 15 of /proc/PID/stat (after the
    # command name, which may hold spaces).
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick


head = int(json.loads(rpc("klay_blockNumber", []))["result"], 16)
blocks = []
for n in range(head, max(0, head - depth), -1):
    count = int(json.loads(rpc("klay_getBlockTransactionCountByNumber", [hex(n)]))["result"], 16)
    if count > 1000:
        blocks.append(n)
txs = sum(int(json.loads(rpc("klay_getBlockTransactionCountByNumber", [hex(n)]))["result"], 16) for n in blocks)
if not txs:
    sys.exit("no block with more than 1,000 transactions in the last %d: run a load first" % depth)
print(f"{len(blocks)} blocks, {txs} transactions")
for label, method, extra in [
    ("klay_getBlockReceipts", "klay_getBlockReceipts", []),
    ("eth_getBlockReceipts", "eth_getBlockReceipts", []),
    ("klay_getBlockByNumber (hashes)", "klay_getBlockByNumber", [False]),
    ("klay_getBlockByNumber (full)", "klay_getBlockByNumber", [True]),
]:
    c0, w0, size = cpu_seconds(), time.time(), 0
    for n in blocks:
        size += len(rpc(method, [hex(n)] + extra))
    c1, w1 = cpu_seconds(), time.time()
    print(f"{label:32s} node CPU {(c1 - c0) * 1e6 / txs:5.1f} µs/tx   wall {(w1 - w0) * 1e6 / txs:5.1f} µs/tx   {size / txs:5.0f} B/tx")
