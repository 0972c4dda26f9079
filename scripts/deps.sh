#!/usr/bin/env bash
# Install what the tests need, only what is missing: `make test` and CI
# (.ci/run) both call it, so the README's two commands are all the set-up on
# a fresh Debian machine with Go 1.26. With everything present it does
# nothing and needs no network.
#
#   Debian: python3-locust (the real Locust master of the e2e tests),
#           python3-zmq, chromium (the HTML report's headless test),
#           npm (the pinned Solidity compiler of contracts/)
#   Go:     staticcheck at the version lint.sh pins
#   npm:    every directory of this repository with a package.json, such as
#           contracts/ (solc), gets `npm ci` when a package is missing from
#           its node_modules or its package-lock.json changed
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=${STATICCHECK_VERSION:-0.8.2}

# Debian packages, each with the test that says it is there.
missing=()
command -v locust >/dev/null 2>&1 || missing+=(python3-locust)
/usr/bin/python3 -c 'import zmq' >/dev/null 2>&1 || missing+=(python3-zmq)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v npm >/dev/null 2>&1 || missing+=(npm) # contracts/: solc from npm
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: ${missing[*]} missing; install them as root: apt-get install -y ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go tools, at pinned versions.
sc="$(go env GOPATH)/bin/staticcheck"
if ! { [ -x "$sc" ] && "$sc" -version 2>/dev/null | grep -q "($STATICCHECK_VERSION)"; }; then
  echo "deps: installing staticcheck v$STATICCHECK_VERSION"
  go install "honnef.co/go/tools/cmd/staticcheck@v$STATICCHECK_VERSION"
fi

# npm packages of the directories that have a package.json: installed when
# `npm ls` (which reads only node_modules) finds one missing, or when the
# lock file changed since the last install.
while IFS= read -r pkg; do
  d=$(dirname "$pkg")
  command -v npm >/dev/null 2>&1 || { echo "deps: $pkg needs npm; install Node.js and npm (apt-get install -y npm)" >&2; exit 1; }
  lock="$d/package-lock.json"
  stamp="$d/node_modules/.package-lock.json" # npm writes it at each install
  if (cd "$d" && npm ls --all >/dev/null 2>&1) && ! { [ -f "$lock" ] && [ -f "$stamp" ] && [ "$lock" -nt "$stamp" ]; }; then
    continue
  fi
  echo "deps: npm packages of $d"
  if [ -f "$lock" ]; then
    (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
  else
    (cd "$d" && npm install --no-audit --no-fund --loglevel=error)
  fi
done < <(git ls-files '*package.json' 2>/dev/null | grep -E '(^|/)package\.json$' | grep -v node_modules/ || true)
