# pocketshop: `make run` starts a shop, `make test` runs every test, `make
# check` is the quick loop (go test -short: no browsers, no fault suite).
GO      ?= go
BIN     := pocketshop
TOOLBIN := $(CURDIR)/bin
# Fuzz each target briefly in `make test`; run longer by hand with FUZZTIME=5m.
FUZZTIME ?= 10s
# Tests, vet and the binaries compile with the same settings as `make build`
# (no cgo, -trimpath), so a fresh machine compiles PocketBase once for all of
# them instead of once per setting.
export CGO_ENABLED := 0
GOTEST  := $(GO) test -trimpath
# The binaries the tests run, built once per `make test` (see testbin).
TESTENV := PATH="$(TOOLBIN):$$PATH" POCKETSHOP_BIN=$(TOOLBIN)/pocketshop BAREPB_BIN=$(TOOLBIN)/barepb
JSTEST  := cd e2e && POCKETSHOP_BIN="$(TOOLBIN)/pocketshop" npm test

.PHONY: build run seed check test test-js testbin e2e-deps vet fuzz tools docker clean bench faults

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) .

run: build
	./$(BIN) serve --http=127.0.0.1:8090

seed: build
	./$(BIN) seed

# The image builds the binary with the same command as `build` (see Dockerfile).
docker:
	docker build -t $(BIN) .

# The test peers (stripe-mock, mailpit) are pinned in tools/go.mod, a module
# of their own so that their dependencies never change the shop's. Rebuilt
# when the pins change.
tools: $(TOOLBIN)/stripe-mock $(TOOLBIN)/mailpit

$(TOOLBIN)/stripe-mock $(TOOLBIN)/mailpit &: tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(TOOLBIN)/ github.com/stripe/stripe-mock github.com/axllent/mailpit

# gofmt, go vet, and go.mod/go.sum exactly as `go mod tidy` leaves them.
# (Not `gofmt -l | tee /dev/stderr`: with make's output in a file, reopening
# /dev/stderr truncates that file.)
vet:
	@files=$$(gofmt -l .); test -z "$$files" || { echo "$$files"; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet -trimpath ./...
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum are not tidy: run go mod tidy" && exit 1)

# -fuzzminimizetime bounds the shrinking of each new interesting input: with
# FuzzMatchQuery's SQLite query (about 1 ms an input), the default 60 s of
# shrinking outlasted the 10 s run and failed it with "context deadline
# exceeded", no input at fault.
FUZZ    := -fuzztime $(FUZZTIME) -fuzzminimizetime 1s
fuzz:
	$(GOTEST) ./internal/shop -run '^$$' -fuzz FuzzParseOrderInput $(FUZZ)
	$(GOTEST) ./internal/shop -run '^$$' -fuzz FuzzPrice $(FUZZ)
	$(GOTEST) ./hooks/search -run '^$$' -fuzz FuzzMatchQuery $(FUZZ)

# The quick loop: unit and API tests (go test -short skips the tests that run
# the built binary and the fault suite; no browsers). Results of unchanged
# packages come from go's test cache.
check: tools
	PATH="$(TOOLBIN):$$PATH" $(GOTEST) -short ./...

# Everything, on a fresh machine too: installs what is missing (the test
# peers, Debian's chromium as root, e2e's npm packages), then vet, every Go
# test, fuzzing and the JS SDK and browser tests.
test: e2e-deps tools vet testbin
	$(TESTENV) $(GOTEST) -count=1 ./...
	$(MAKE) fuzz
	$(JSTEST)

# The binaries under test, built with `make build`'s command: the root
# package's tests, the fault suite and test-js all run these.
testbin:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(TOOLBIN)/pocketshop .
	CGO_ENABLED=0 $(GO) build -trimpath -o $(TOOLBIN)/barepb ./bench/barepb

# The storefront's JS SDK contract tests and browser tests (headless
# Chromium) against the built binary; see e2e/.
test-js: e2e-deps testbin
	$(JSTEST)

# Node 20+ with npm must be there; Chromium is installed when missing (see
# e2e/need-chromium.sh), the npm packages when package-lock.json changed.
e2e-deps: e2e/node_modules/.package-lock.json
	@sh e2e/need-chromium.sh

e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
	@command -v npm >/dev/null || { echo "The JS tests need Node 20+ with npm (Debian 12 ships Node 18: take Node 20+ from nodejs.org)"; exit 1; }
	cd e2e && npm ci --no-audit --no-fund

# The benchmark against bare PocketBase and the fault suite (bench/README in
# the README's Performance section). BENCHFLAGS adds flags, e.g.
# BENCHFLAGS='-c 1,8 -duration 2s -sizes 100' for a quick run.
bench:
	$(GO) run ./bench run $(BENCHFLAGS)

faults:
	PATH="$(TOOLBIN):$$PATH" $(GO) run ./bench faults -duration 10s $(BENCHFLAGS)

clean:
	rm -rf $(BIN) $(TOOLBIN)
