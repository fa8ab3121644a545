# pocketshop: `make run` starts a shop, `make test` runs every test.
GO      ?= go
BIN     := pocketshop
TOOLBIN := $(CURDIR)/bin
# Fuzz each target briefly in `make test`; run longer by hand with FUZZTIME=5m.
FUZZTIME ?= 10s

.PHONY: build run seed test test-js vet fuzz tools docker clean bench faults

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
# of their own so that their dependencies never change the shop's.
tools:
	cd tools && $(GO) build -o $(TOOLBIN)/ github.com/stripe/stripe-mock github.com/axllent/mailpit

vet:
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || (echo "gofmt: the files above need formatting" && exit 1)
	$(GO) vet ./...
	@$(GO) mod tidy -diff || (echo "go.mod/go.sum: run go mod tidy" && exit 1)

fuzz:
	$(GO) test ./internal/shop -run '^$$' -fuzz FuzzParseOrderInput -fuzztime $(FUZZTIME)

test: vet tools
	PATH="$(TOOLBIN):$$PATH" $(GO) test -count=1 ./...
	$(MAKE) fuzz
	$(MAKE) test-js

# The storefront's JS SDK contract tests and browser tests (headless
# Chromium: apt-get install chromium) against a freshly built binary; see e2e/.
test-js: e2e/node_modules/.package-lock.json
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	CGO_ENABLED=0 $(GO) build -trimpath -o "$$tmp/pocketshop" . && \
	cd e2e && POCKETSHOP_BIN="$$tmp/pocketshop" npm test

e2e/node_modules/.package-lock.json: e2e/package.json e2e/package-lock.json
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
