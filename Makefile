# MUTT — the two commands a user needs: `make run` and `make test`.
GO        ?= go
FUZZTIME  ?= 10s
# The Go release every build and test uses (go.mod's go line); the machine's own Go fetches it from the
# module proxy once (~10 s). GOTOOLCHAIN=local machines would otherwise refuse go.mod.
export GOTOOLCHAIN := go1.27.3
export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)
# make install puts mutt and muttdev in $(PREFIX)/bin when PREFIX is set,
# else in Go's install directory ($(go env GOBIN), default $(go env GOPATH)/bin).
PREFIX    ?=

.PHONY: help run test test-short fuzz bench soak chaos build install vet lint services cover

help: ## list every target with what it does
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: services ## everything in one process: ingestor, alerter, forwarder, Moogsoft simulator, Temporal worker
	@./scripts/ensure-temporal.sh
	$(GO) run ./cmd/mutt dev

test: lint ## the whole suite against the real Redis, PostgreSQL, Temporal and Prometheus, then short fuzz runs
	@./scripts/ensure-services.sh --test
	@./scripts/ensure-temporal.sh --test-server
	$(GO) test -count=1 -timeout 25m ./...
	$(MAKE) fuzz

# go test -short skips every test that needs a server, a browser or an external program (testenv's
# helpers skip them, naming what they need): the pure tests, in seconds, with nothing running.
test-short: ## the tests that need no service (go test -short ./...), in seconds; make test runs everything
	$(GO) test -short -count=1 ./...

# make cover: the suite once, with every non-main package instrumented for every test binary (-coverpkg), so
# a package exercised by another package's tests (the e2e tests in test/ drive the hot path) counts as
# covered. The statements of main packages (cmd/*) are left out: they are thin and run as processes.
COVER_MIN ?= 80
COVER_OUT ?= cover.out
cover: ## the suite with coverage; reports the % of statements outside main packages, fails below COVER_MIN (80)
	@./scripts/ensure-services.sh --test
	@./scripts/ensure-temporal.sh --test-server
	@pkgs=$$($(GO) list -f '{{if ne .Name "main"}}{{.ImportPath}}{{end}}' ./... | paste -sd, -); \
	  $(GO) test -count=1 -timeout 30m -covermode=set -coverpkg="$$pkgs" -coverprofile=$(COVER_OUT) ./... || \
	  { ./scripts/cover-report.sh $(COVER_OUT) $(COVER_MIN) || true; \
	    echo "make cover: the suite failed, so the numbers above are incomplete (the failures are above; make test)"; exit 1; }
	@./scripts/cover-report.sh $(COVER_OUT) $(COVER_MIN)
	@echo "per function: go tool cover -func=$(COVER_OUT); per line: go tool cover -html=$(COVER_OUT)"

# make fuzz: one fuzz-instrumented test binary per package, every target of it run from that binary for
# FUZZTIME in the package's directory (corpus in testdata/fuzz, failing inputs written there), FUZZJOBS
# targets at once (default: the CPUs) with FUZZPARALLEL workers each (default 1). scripts/fuzz.sh.
# make fuzz FUZZPKGS=./api fuzzes one package's targets.
FUZZPKGS  ?= ./...
fuzz: ## every fuzz target for FUZZTIME (10s), FUZZJOBS at a time; a failure names the target and its input
	GO="$(GO)" FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh $(FUZZPKGS)

# make bench BENCH_ARGS='-duration 15s -phases saturate' passes muttdev bench flags.
bench: services ## end-to-end benchmark of the running pipeline: muttdev bench (see docs/PERFORMANCE.md)
	$(GO) build -o bin/ ./cmd/mutt ./cmd/muttdev
	bin/muttdev bench $(BENCH_ARGS)

# make soak SOAK_DURATION=2h is the documented long run; SOAK_ARGS adds muttdev soak flags (--rate, --report, ...).
SOAK_DURATION ?= 30m
SOAK_ARGS     ?=
soak: services ## soak test: real processes under fixed load for SOAK_DURATION (30m); report + plots in docs/soak/
	@./scripts/ensure-temporal.sh --test-server
	$(GO) run ./cmd/muttdev soak --duration $(SOAK_DURATION) --temporal-address 127.0.0.1:17233 $(SOAK_ARGS)
# make chaos: the full chaos profile (test/chaos; the short one runs in make test). MUTT_CHAOS_SEED repeats a
# run's fault schedule; MUTT_CHAOS_REPORT=file appends each test's fault × outcome table to file.
chaos: ## real processes under kill -9, SIGTERM restarts, Redis and PostgreSQL faults; reconciles every event (docs/RELIABILITY.md)
	@./scripts/ensure-services.sh --test
	@./scripts/ensure-temporal.sh --test-server
	MUTT_CHAOS_PROFILE=full $(GO) test -count=1 -v -timeout 120m -run '^TestChaos' ./test/chaos/

build: ## build mutt and muttdev into bin/
	$(GO) build -o bin/ ./cmd/...

install: ## put mutt and muttdev on the PATH ($(PREFIX)/bin, else $(go env GOPATH)/bin)
ifeq ($(strip $(PREFIX)),)
	$(GO) install ./cmd/mutt ./cmd/muttdev
	@echo "installed mutt and muttdev in $${GOBIN:-$$($(GO) env GOBIN)}$$( [ -n "$$($(GO) env GOBIN)" ] || echo $$($(GO) env GOPATH)/bin)"
else
	@mkdir -p "$(PREFIX)/bin"
	$(GO) build -o "$(PREFIX)/bin/" ./cmd/mutt ./cmd/muttdev
	@echo "installed mutt and muttdev in $(PREFIX)/bin"
endif

vet: ## go vet and the gofmt check
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

# Static analysis and known vulnerabilities (docs/SECURITY.md). The analysers are pinned in tools/go.mod, a
# module of their own so go.mod stays the service's; the first run fetches them from the module proxy.
# govulncheck uses an offline database built from golang.org/x/vulndb (scripts/vulncheck.sh).
TOOL := $(GO) tool -modfile=tools/go.mod
lint: vet ## gofmt, go vet, staticcheck, gosec, workflowcheck and govulncheck; any finding fails
	$(TOOL) staticcheck ./...
	$(TOOL) gosec -quiet -exclude-generated ./...
	@bad=$$(git grep -n '#nosec' -- '*.go' | grep -vE '#nosec G[0-9]{3}( G[0-9]{3})* -- [^ ]'); \
	  test -z "$$bad" || { echo "$$bad"; echo "each #nosec needs its rule ids and a reason: // #nosec G304 -- why"; exit 1; }
	$(TOOL) workflowcheck ./workflows/...
	GO="$(GO)" ./scripts/vulncheck.sh

services: ## install and start Redis and PostgreSQL when missing; install Prometheus (mutt dev runs one)
	@./scripts/ensure-services.sh
