#!/usr/bin/env bash
# make test: every test, against a real Locust master and a real Kaia devnet.
#
#  1. lint (gofmt, vet, staticcheck)
#  2. bring up the shared devnet (built binaries are cached by version)
#  3. the main module's tests: unit, fuzz seeds, e2e with the real master,
#     and chain tests against the devnet (KLAYSLAVE_DEVNET points at it)
#  4. stop the shared devnet, then the devnet module's own test, which starts
#     a second net beside it, times `up`, moves KLAY over the bridge and
#     checks that `down` leaves no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLAYSLAVE_REQUIRE_LOCUST=1 KLAYSLAVE_REQUIRE_DEVNET=1 KLAYSLAVE_REQUIRE_SOLC=1
dir=${KLAYSLAVE_DEVNET_DIR:-/tmp/klayslave-devnet}

bash scripts/lint.sh
# The pinned solc, for the test that the contract artifacts match src/.
bash scripts/contracts.sh --deps

trap './bin/devnet down --dir "$dir" >/dev/null 2>&1 || true' EXIT
start=$(date +%s)
./bin/devnet up --dir "$dir"
echo "devnet up took $(( $(date +%s) - start )) s"
export KLAYSLAVE_DEVNET="$dir/network.json"

go test -race -count=1 -timeout 20m ./...

./bin/devnet down --dir "$dir"
(cd devnet && go test -v -count=1 -timeout 10m ./... 2>&1 | grep -E "^(--- |PASS|FAIL|ok|panic)|took|moved")
