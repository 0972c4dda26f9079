#!/usr/bin/env bash
# Bridge throughput and latency on the local devnet.
#
# Runs scValueTransferWithCheckTc (KLAY through the bridge, direction random
# per request, every request followed to its handle receipt) for RUN seconds
# at rising -max-rps. A rate is sustained when, in each direction, nothing
# failed, the end-to-end p99 stays under 10 s, and at most 6 s worth of
# requests were still unhandled when the run ended. Before each run the
# sub-bridge's queue must be empty, so that one run's backlog does not slow
# the next. Then it measures the e2e p50/p99 at half the highest sustained
# rate.
#
#   make build devnet && bash bench/bridge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${KLAYSLAVE_DEVNET_DIR:-/tmp/klayslave-devnet}
RUN=${RUN:-30}
RATES=${RATES:-"20 40 60 80 100 120"}
./bin/devnet up --dir "$dir" >/dev/null
set -a; . "$dir/network.env"; set +a
out=$(mktemp -d)

# drain waits until the sub-bridge has no pending bridge transaction.
drain() {
  for _ in $(seq 120); do
    n=$(curl -s -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"subbridge_txPendingCount","params":[]}' \
      "$KLAYSLAVE_SUBBRIDGE_ENDPOINT" | sed -n 's/.*"result":\([0-9]*\).*/\1/p')
    [ "${n:-1}" = 0 ] && return
    sleep 1
  done
  echo "sub-bridge queue did not drain in 120 s" >&2
}

# run RATE: one line per direction: "dir requests handled failures p50ms p99ms"
run() {
  local rate=$1 log=$out/run-$1.txt
  drain
  ./bin/klayslave run -tc scValueTransferWithCheckTc -users 50 -spawn-rate 50 -run-time "${RUN}s" \
    -max-rps "$rate" -charge 5 -log-dir "$out/logs" -report-interval 1h \
    -mcEndpoint "$KLAYSLAVE_MC_ENDPOINT" -scEndpoint "$KLAYSLAVE_SC_ENDPOINT" >"$log" 2>"$log.err" || true
  awk 'function ms(s) { sub(/ms$/, "", s); return s + 0 }
       /Final summary:/ { f = 1 }
       f && /^scValueTransferWithCheckTc/ {
         split($0, a, "|"); split(a[1], l, " "); split(a[2], t, " ")
         d = l[2]; req = l[3]; fail = l[4]
         if (l[3] == "e2e") { d = l[2]; req = l[4]; fail = l[5]; h[d] = req; p50[d] = ms(t[4]); p99[d] = ms(t[6]) }
         else { r[d] = req }
         fails[d] += fail }
       END { for (d in r) printf "%s %d %d %d %d %d\n", d, r[d], h[d], fails[d], p50[d], p99[d] }' "$log"
}

printf "%5s  %-13s  %8s  %7s  %8s  %8s  %8s  %s\n" rate direction requests handled failures e2e-p50 e2e-p99 sustained
best=0
for rate in $RATES; do
  ok=yes
  while read -r d reqs handled fails p50 p99; do
    per=$(( reqs / RUN ))
    good=yes
    { [ "$fails" -eq 0 ] && [ "$p99" -lt 10000 ] && [ $(( reqs - handled )) -le $(( per * 6 )) ]; } || good=no
    [ "$good" = yes ] || ok=no
    printf "%5s  %-13s  %8d  %7d  %8d  %6dms  %6dms  %s\n" "$rate" "$d" "$reqs" "$handled" "$fails" "$p50" "$p99" "$good"
  done < <(run "$rate")
  [ "$ok" = yes ] || break
  best=$rate
done
echo "highest sustained: $best req/s (both directions together)"
half=$(( best / 2 ))
if [ "$half" -gt 0 ]; then
  echo "at half that rate ($half req/s):"
  run "$half" | while read -r d reqs handled fails p50 p99; do
    echo "  $d: e2e p50 ${p50} ms, p99 ${p99} ms ($handled of $reqs handled within the run, $fails failures)"
  done
fi
echo "raw summaries in $out"
