#!/usr/bin/env bash
# make test: every test, against a real Locust master and a real Kaia devnet.
#
#  0. install what is missing (scripts/deps.sh: Locust, Chromium, Go tools, npm)
#  1. lint (gofmt, vet, staticcheck)
#  2. bring up the shared devnet from a new genesis (built binaries are
#     cached by version): a devnet left by an earlier run keeps what its
#     tests deployed, and Kaia v1.0.3's sub-bridge can deadlock at start
#     restoring the bridge pairs of a run that ended before its clean-up
#     (CI failed so, after 120 s)
#  3. the main module's tests: unit, fuzz seeds, e2e with the real master,
#     and chain tests against the devnet (KLAYSLAVE_DEVNET points at it)
#  4. stop the shared devnet, then the devnet module's own test, which starts
#     a second net beside it, times `up`, moves KLAY over the bridge and
#     checks that `down` leaves no process behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLAYSLAVE_REQUIRE_LOCUST=1 KLAYSLAVE_REQUIRE_DEVNET=1 KLAYSLAVE_REQUIRE_SOLC=1 KLAYSLAVE_REQUIRE_CHROMIUM=1
# -race turns on checkptr, which kills the process when Kaia's sha3 reads an
# unaligned buffer near the end of its allocation as a [21]uint64 (it does,
# on purpose, when it hashes a transaction with more than 136 bytes of
# data for signing). Off for that one package, in this run and in the
# binaries the e2e tests build.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-gcflags=github.com/kaiachain/kaia/crypto/sha3=-d=checkptr=0"
dir=${KLAYSLAVE_DEVNET_DIR:-/tmp/klayslave-devnet}

bash scripts/deps.sh
bash scripts/lint.sh

trap './bin/devnet down --prune-bridges --dir "$dir" >/dev/null 2>&1 || true' EXIT
start=$(date +%s)
./bin/devnet up --fresh --dir "$dir"
echo "devnet up took $(( $(date +%s) - start )) s"
export KLAYSLAVE_DEVNET="$dir/network.json"

go test -race -count=1 -timeout 20m ./...

./bin/devnet down --prune-bridges --dir "$dir"
(cd devnet && go test -v -count=1 -timeout 10m ./... 2>&1 | grep -E "^(--- |PASS|FAIL|ok|panic)|took|moved")
