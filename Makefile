# svcnat — see README.md. Every target that touches netfilter does so only
# inside network namespaces it creates (tests need root).

GO       ?= go
BIN      := bin
PKGS     := ./...
TESTFLAGS ?= -timeout 20m
# VERSION is what `svcnat --version` prints; without git (a source archive)
# the binary falls back to what the Go toolchain recorded.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null)
LDFLAGS  := -X github.com/svcnat/svcnat/internal/version.version=$(VERSION)

.PHONY: all build test vet fmt-check update demo bench fuzz e2e clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/svcnat ./cmd/svcnat
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/svcnat-gen ./cmd/svcnat-gen
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/svcnat-demo ./cmd/svcnat-demo

## demo: a virtual node in network namespaces serving the seed Service (needs root;
## svcnat-demo first checks root and the tools it needs, and says what to install).
demo: build
	$(BIN)/svcnat-demo --svcnat $(BIN)/svcnat

## test: everything CI runs: formatting, vet, unit, golden, netns and smoke tests.
test: fmt-check vet
	$(GO) test $(TESTFLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./test/e2e

## e2e: svcnat run against a real kube-apiserver + etcd in network namespaces (root).
## Builds kube-apiserver once into .cache/bin (about 10 minutes cold, then reused).
e2e:
	tools/kubernetes/build.sh
	E2E_REQUIRED=1 $(GO) test -tags e2e -count=1 -v -timeout 15m ./test/e2e

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: Go benchmarks and the one-table driver (root; throwaway namespaces only).
## Takes tens of minutes at 50k Services; docs/BENCHMARKS.md has the figures.
## The OneBigService rows are one Service with 1k, 10k and 100k endpoints
## (render, full apply, one endpoint removed or moved).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./backend/nftables/ ./backend/iptables/
	SVCNAT_BENCH_100K=1 $(GO) test -run '^$$' -bench 'OneBigService' -benchmem -benchtime 5x ./backend/nftables/ ./backend/iptables/
	$(GO) run ./cmd/svcnat-bench --sizes 1000,10000,50000 --svcnat $(BIN)/svcnat

## fuzz: each fuzz target for FUZZTIME (root: the renderers' output is
## loaded in throwaway namespaces). `make test` runs the seed corpora.
FUZZTIME ?= 5m
FUZZ_TARGETS := ./manifest:FuzzStreamMatchesWhole ./synth:FuzzBuild \
	./backend/nftables:FuzzRenderLoads ./backend/iptables:FuzzRenderLoads
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

## update: rewrite golden sections of testdata/*.txtar.
update:
	$(GO) test ./synth ./backend/nftables ./backend/iptables -run 'Golden|Scenario' -update
	$(GO) test ./explain ./cmd/svcnat -run 'Golden|Status' -update

clean:
	rm -rf $(BIN)
