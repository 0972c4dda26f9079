#!/usr/bin/env bash
# make contracts: compile contracts/src/*.sol with the solc version pinned in
# contracts/solc/package-lock.json and write contracts/<Name>.json, or into
# the directory given as $1. `--deps` only installs the pinned compiler
# (scripts/test.sh uses it). contracts/contracts_test.go checks that the
# checked-in artifacts are what this produces.
set -euo pipefail
cd "$(dirname "$0")/.."
solc=contracts/solc
want=$(node -p "require('./$solc/package.json').dependencies.solc")
have=$(node -p "try { require('./$solc/node_modules/solc/package.json').version } catch (e) { '' }")
if [ "$have" != "$want" ]; then
  (cd "$solc" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "${1:-}" = "--deps" ]; then
  exit 0
fi
node "$solc/compile.js" "${1:-contracts}"
