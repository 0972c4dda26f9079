#!/usr/bin/env bash
# make bench: the pacing benchmarks, the CPU cost of a signed iteration
# (bench/sendcost), then, when the devnet is up, the node
# ceiling (bench/ceiling: pre-signed transfers, counted from blocks) for
# DURATION through the EN and then straight to the CN, one after the other.
#
#   make bench                        # everything
#   DURATION=20s make bench           # shorter ceiling runs
#   CEILING=0 make bench              # pacing only
#
# The ceiling's JSON (for scripts) goes to $OUT/ceiling-en.json and
# $OUT/ceiling-cn.json; OUT defaults to a fresh temporary directory.
# bench/bridge.sh (bridge throughput) is separate: it takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${KLAYSLAVE_DEVNET_DIR:-/tmp/klayslave-devnet}
DURATION=${DURATION:-60s}
CEILING=${CEILING:-1}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

echo "== pacing and per-request cost: go test -run='^\$' -bench=. -benchtime=1x ./runner"
go test -run='^$' -bench=. -benchtime=1x ./runner

echo "== reads against a local JSON-RPC sink, klayslave vs a plain net/http loop: go test -run='^\$' -bench=Reads/ -benchtime=1x ./bench/reads"
go test -run='^$' -bench=Reads/ -benchtime=1x ./bench/reads

echo "== CPU per signed iteration without a node, against Kaia's bare build+sign: go test -bench . ./bench/sendcost"
go test -run='^$' -bench=Iteration -benchtime="${SENDCOST_N:-60000x}" ./bench/sendcost

[ "$CEILING" = 1 ] || exit 0

# devnet_up says whether the devnet answers; it never starts or stops it
# (the devnet is shared).
devnet_up() {
  if [ -x ./bin/devnet ]; then
    ./bin/devnet status --dir "$dir" >/dev/null 2>&1 && return 0
    return 1
  fi
  [ -f "$dir/network.env" ] || return 1
  curl -s -m 5 -H 'Content-Type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"klay_blockNumber","params":[]}' \
    "$(sed -n 's/^KLAYSLAVE_MC_ENDPOINT=//p' "$dir/network.env")" | grep -q '"result"'
}

if ! devnet_up; then
  echo "== node ceiling: skipped, no devnet answers in $dir (make devnet && ./bin/devnet up)"
  exit 0
fi

# The funder key comes from the environment if set, else from the devnet's
# well-known dev key; it is never printed.
user_key=${KLAYSLAVE_MC_KEY:-}
set -a; . "$dir/network.env"; set +a
[ -n "$user_key" ] && KLAYSLAVE_MC_KEY=$user_key
en=$KLAYSLAVE_MC_ENDPOINT
cn=$(sed -n 's/.*"cnRpc": *"\([^"]*\)".*/\1/p' "$dir/network.json" 2>/dev/null)
cn=${cn:-http://127.0.0.1:8551}

go build -o bin/ceiling ./bench/ceiling
echo "== node ceiling through the EN ($en), $DURATION"
./bin/ceiling -endpoint "$en" -label EN -duration "$DURATION" -json "$OUT/ceiling-en.json" -log-dir "$OUT"
echo "== node ceiling straight to the CN ($cn), $DURATION"
./bin/ceiling -endpoint "$cn" -label CN -duration "$DURATION" -json "$OUT/ceiling-cn.json" -log-dir "$OUT"
echo "JSON in $OUT/ceiling-en.json and $OUT/ceiling-cn.json"
