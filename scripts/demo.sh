#!/usr/bin/env bash
# make demo: start the local Kaia network and run a real load test on it.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${KLAYSLAVE_DEVNET_DIR:-/tmp/klayslave-devnet}
./bin/devnet up --dir "$dir"
# network.env holds the endpoints and the devnet's well-known, local-only
# funder keys; klayslave reads the keys from the environment, never argv.
set -a; . "$dir/network.env"; set +a
# The seed's test case and its end-to-end variant: KLAY through the bridge in
# both directions, 20 requests/s for 30 s. The summary is printed at the end,
# the report written, and the test accounts' funds go back to the funders.
report="$dir/klayslave/report"
./bin/klayslave run -tc scValueTransferTc,scValueTransferWithCheckTc -users 10 -spawn-rate 10 \
  -run-time 30s -max-rps 20 -charge 1 -log-dir "$dir/klayslave" -report-dir "$report" \
  -mcEndpoint "$KLAYSLAVE_MC_ENDPOINT" -scEndpoint "$KLAYSLAVE_SC_ENDPOINT"
echo "The devnet is still up; stop it with: ./bin/devnet down --dir $dir"
echo "The report: $report/report.html (open it in a browser; report.json and Locust-format CSVs beside it)"
