#!/usr/bin/env bash
# gofmt, go vet and staticcheck over both modules.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted"; exit 1; fi
go vet ./...
(cd devnet && go vet -ldflags=-checklinkname=0 ./...)
sc=$(go env GOPATH)/bin/staticcheck
[ -x "$sc" ] || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
"$sc" ./...
(cd devnet && "$sc" ./...)
echo "lint: ok"
