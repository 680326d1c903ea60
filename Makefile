# compozy setup — build, test, benchmark, lint.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
BIN     ?= compozy
SHELL   := /bin/bash

.PHONY: build test bench lint schema docs clean

## build: the compozy binary in ./compozy
build:
	$(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) .

## test: every test; PostgreSQL and Redis must be running (see .ci/run), SQLite is built in.
## Ends with every skipped test and the reason it gave.
test:
	@set -o pipefail; $(GO) test -json -parallel 4 ./... | $(GO) run ./internal/testreport

## bench: Go benchmarks of the storage layer, the filesystem vector store and compozy doctor on a
## small and a 1.5 GB SQLite database (built in a temporary folder and removed: a minute, 1.5 GB
## of disk); figures go into docs/benchmarks.md and docs/benchmarks-doctor.md
bench:
	$(GO) test -run '^$$' -bench WorkflowLifecycle -benchtime 3s ./core/storage/factory/
	$(GO) test -run '^$$' -bench . -benchtime 10x -benchmem ./core/vector/filesystem/
	$(GO) test -run '^$$' -bench Doctor -benchtime 10x -timeout 30m ./cli/

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-ed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## schema: regenerate schemas/config-database.json from the code
schema:
	$(GO) run . config schema > schemas/config-database.json

## docs: regenerate the generated parts of docs/ (decision matrix, config reference, doctor checks, CLI pages)
docs:
	$(GO) run ./internal/docgen/cmd/docgen -dir docs

clean:
	rm -f $(BIN)
