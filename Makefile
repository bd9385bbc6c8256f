# Parley: `make run` builds and starts the server on http://localhost:8080;
# `make test` runs every test layer (vet, unit, native integration, browser).
GO      ?= go
WASM    := GOOS=js GOARCH=wasm
GOROOT  := $(shell $(GO) env GOROOT)
ADDR    ?= localhost:8080
DATA    ?= ./data
GOFILES := $(shell find app server -name '*.go' -not -path '*/testdata/*') go.mod go.sum
APPGO   := $(shell find app -name '*.go' -not -name '*_test.go') go.mod go.sum
WEBSRC  := $(shell find web -type f -not -name '*.wasm*' -not -name 'wasm_exec.js' -not -name '.*')

.PHONY: all build run test test-native test-e2e-pwa test-e2e-sdk vet unit e2e-deps fuzz bench wasm-size clean

all: build

build: bin/parley

# The toolchain's wasm_exec.js must match the Go that built the wasm; the
# top-level copy is checked into git and verified by a test, web/ gets a copy
# to embed.
wasm_exec.js: $(GOROOT)/lib/wasm/wasm_exec.js
	cp $< $@

web/wasm_exec.js: wasm_exec.js
	cp $< $@

# The UI side (Parley's screens and go-app) is built without inlining: it
# runs on clicks and engine events, not in loops, and inlined builder chains
# make its wasm larger (about 1% of the PWA's brotli bytes; see README,
# Benchmarks). So is fmt, which the browser builds use only to format error
# messages and labels (9 KB of the PWA's brotli bytes). The call engine,
# the codec and the runtime keep their inlining.
UIGCFLAGS := -gcflags='parley/app/ui=-l' -gcflags='parley/app/sdk=-l' -gcflags='github.com/maxence-charriere/go-app/v10/...=-l' -gcflags='fmt=-l'

# The PWA's wasm is built with go-app's server side (its Handler, which
# imports net/http and with it crypto/tls) left out: a workspace with a copy
# of go-app trimmed for the browser (server/internal/goapptrim says how).
# About 330 KB less on the wire and 100-200 ms sooner to start.
GOAPPTRIM := .build/goapp
GOAPPWORK := $(abspath $(GOAPPTRIM))/go.work

$(GOAPPWORK): $(wildcard server/internal/goapptrim/*.go server/internal/goapptrim/goapp/*.go) go.mod go.sum
	$(GO) run ./server/internal/goapptrim $(GOAPPTRIM)

web/app.wasm: $(APPGO) $(GOAPPWORK) Makefile
	GOWORK=$(GOAPPWORK) $(WASM) $(GO) build -trimpath $(UIGCFLAGS) -ldflags='-s -w' -o $@ ./app

web/sdk.wasm: $(APPGO) Makefile
	$(WASM) $(GO) build -trimpath $(UIGCFLAGS) -ldflags='-s -w' -o $@ ./app/sdk

# Brotli and gzip copies of everything the server sends that compresses (the
# server sends them to browsers that accept them). parley.js is not here: the
# server stamps its version in and compresses it then.
PRECOMPRESS := web/app.wasm web/sdk.wasm web/wasm_exec.js web/parley.css web/parley-push-sw.js web/sdk.html web/icon.svg

web/.compressed: $(PRECOMPRESS) server/internal/precompress/main.go
	$(GO) run ./server/internal/precompress $(PRECOMPRESS)
	touch $@

bin/parley: web/.compressed web/wasm_exec.js $(GOFILES) $(WEBSRC)
	$(GO) build -trimpath -ldflags="-X main.version=$$(cat web/app.wasm web/sdk.wasm | sha256sum | cut -c1-16)" -o $@ ./server

run: build
	./bin/parley -addr $(ADDR) -data $(DATA) -turn-addr 127.0.0.1:3478

vet:
	@test -z "$$(gofmt -l app server)" || (echo "gofmt needed:"; gofmt -l app server; exit 1)
	$(GO) vet ./...
	$(WASM) $(GO) vet ./app/...

# Quick loop without the browser layer.
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /server/e2e)

# axe-core for the accessibility test, and PeerJS's browser library (peerjs) and
# Node signalling server (peer) for TestBenchPeerJSAnswer, all pinned in
# server/e2e/testdata/package-lock.json.
e2e-deps: server/e2e/testdata/node_modules/.package-lock.json

server/e2e/testdata/node_modules/.package-lock.json: server/e2e/testdata/package-lock.json
	cd server/e2e/testdata && npm ci --no-audit --no-fund --silent

# The browser tests run as two processes at once, the PWA's screens and Web
# Push in one and the SDK and everything else in the other, beside the other
# packages: a browser test spends much of its time waiting (for pages, rings,
# timers). On the project's 2-core machine CI went from 22 to 18 minutes; the
# rest is CPU (each page costs seconds of it to load and run its wasm). Each
# target's output is printed whole when it ends.
E2E_PWA := ^Test(PWA|Push)

# Every package's tests are compiled with the race detector (go list -export
# compiles without linking) before any test runs: on a fresh machine that is
# about 3.5 minutes of both cores, which used to overlap the browser tests
# and starve them (CI11: load average 42, calls taking 30 s to connect). `go
# vet` has run, so the test runs skip go test's own vet pass.
test: vet build e2e-deps
	mkdir -p test-artifacts
	$(GO) list -race -test -export -deps ./... > /dev/null
	$(MAKE) --no-print-directory -j3 --output-sync=target test-native test-e2e-pwa test-e2e-sdk

test-native:
	$(GO) test -race -vet=off -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/server/e2e$$')

test-e2e-pwa:
	$(GO) test -race -vet=off -count=1 -timeout 30m -run '$(E2E_PWA)' ./server/e2e

test-e2e-sdk:
	$(GO) test -race -vet=off -count=1 -timeout 30m -skip '$(E2E_PWA)' ./server/e2e

# Every fuzz target of client input, one after the other, FUZZTIME each
# (e.g. make fuzz FUZZTIME=30s). Plain `go test` runs their seed corpora.
FUZZTIME ?= 60s
FUZZ := ./app/wire:FuzzDecode ./app/wire:FuzzRequestData ./app/wire:FuzzUsername \
	./server/store:FuzzDisplayName ./server/hub:FuzzLinkCode ./server/hub:FuzzRequest \
	./server/hub:FuzzRestoreCall

fuzz:
	@set -e; for t in $(FUZZ); do \
		echo "== $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) $${t%%:*}; \
	done

bench: build
	$(GO) test -run '^$$' -bench Relay -benchtime 20000x ./server/hub
	$(GO) test -run '^$$' -bench IdleConnections -benchtime 1x ./server/hub # PARLEY_BENCH_CONNS=50000 make bench for 50,000
	$(GO) test -run '^$$' -bench RingFanout -benchtime 20x ./server/hub
	$(GO) test -run '^$$' -bench RelayThroughput -benchtime 200000x ./server/turn
	$(GO) test -run '^$$' -bench . -benchtime 3s ./server/push
	$(GO) test -run '^$$' -bench ClusterRelay -benchtime 400x ./server
	$(GO) test -run '^$$' -bench LineObserve -benchmem ./app/call
	for t in udp tcp; do PARLEY_BENCH=1 PARLEY_BENCH_RELAY=$$t $(GO) test -count=1 -v -timeout 5m -run 'TestBenchAnswerToFirstFrame' ./server/e2e | grep -E 'answerCall'; done
	PARLEY_BENCH=1 PARLEY_BENCH_VOICE=1 $(GO) test -count=1 -v -timeout 10m -run 'TestBenchGroupJoin' ./server/e2e | grep -E 'joinCall'
	for n in 4 8; do PARLEY_BENCH=1 PARLEY_BENCH_VOICE=1 PARLEY_BENCH_NATIVE=1 PARLEY_BENCH_PARTIES=$$n $(GO) test -count=1 -v -timeout 5m -run 'TestBenchGroupJoin' ./server/e2e | grep -E 'joinCall'; done
	PARLEY_BENCH=1 PARLEY_BENCH_VOICE=1 $(GO) test -count=1 -v -timeout 10m -run 'TestBenchGroupAnswer' ./server/e2e | grep -E 'answerCall'
	PARLEY_BENCH=1 PARLEY_BENCH_VOICE=1 PARLEY_BENCH_NATIVE=1 PARLEY_BENCH_PARTIES=8 $(GO) test -count=1 -v -timeout 5m -run 'TestBenchGroupAnswer' ./server/e2e | grep -E 'answerCall'
	PARLEY_BENCH=1 $(GO) test -count=1 -v -timeout 30m -run 'TestBench' ./server/e2e | grep -E 'TestBench|first load|answerCall|4-party|8-party|interleaved|visit|joinCall|path dead|reload|kill -9|shareScreen|per socket|tabs on three'
	PARLEY_BENCH=1 $(GO) test -count=1 -v -timeout 5m -run 'TestBenchReconnectAfterRestart' ./app/call | grep -E 'clients'

# Where the PWA's wasm bytes go, by package (WASM_SIZE_FLAGS=-fn for
# functions), from a build that keeps the function names the shipped one
# strips; WASM_SIZE_BASE=old.wasm (a build of an older commit, made the
# same way) shows what grew since.
WASM_SIZE_OUT ?= $(or $(TMPDIR),/tmp)/parley-app-named.wasm
wasm-size: $(GOAPPWORK)
	GOWORK=$(GOAPPWORK) $(WASM) $(GO) build -trimpath $(UIGCFLAGS) -o $(WASM_SIZE_OUT) ./app
	$(GO) run ./server/internal/wasmsize $(WASM_SIZE_FLAGS) $(WASM_SIZE_BASE) $(WASM_SIZE_OUT)

clean:
	rm -rf bin web/*.wasm web/*.br web/*.gz web/.compressed web/wasm_exec.js test-artifacts .build
