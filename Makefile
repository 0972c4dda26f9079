# The two set-up commands are `make demo` and `make test`; everything else
# here serves them.
GO      ?= go
DEVNET  ?= /tmp/klayslave-devnet

.PHONY: build devnet demo test lint bench clean contracts

build:
	$(GO) build -o bin/klayslave ./cmd/klayslave

# The devnet tool links Kaia's node packages, which need -checklinkname=0
# on Go 1.26; it lives in its own module so the main one never does.
devnet:
	cd devnet && $(GO) build -ldflags=-checklinkname=0 -o ../bin/devnet .

demo: build devnet
	bash scripts/demo.sh

test: build devnet
	bash scripts/test.sh

lint:
	bash scripts/lint.sh

# Regenerate contracts/<Name>.json from contracts/src/*.sol with the pinned solc.
contracts:
	bash scripts/contracts.sh

bench: build
	bash bench/run.sh

clean:
	-./bin/devnet down --dir $(DEVNET)
	rm -rf bin
