# svcnat — see README.md. Every target that touches netfilter does so only
# inside network namespaces it creates (tests need root).

GO       ?= go
BIN      := bin
PKGS     := ./...
TESTFLAGS ?= -timeout 20m

# The release stamped into binaries and the image: `git describe` of the
# tree (a tag vX.Y.Z at a release; VERSION names the one deploy/ pins).
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || cat VERSION)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# Every date in the image: the commit's, so that rebuilding gives the same digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS  := -X github.com/svcnat/svcnat/internal/version.version=$(VERSION) -X main.version=$(VERSION)
IMAGE    ?= $(BIN)/svcnat-image.tar
IMAGE_LAYOUT ?= $(BIN)/svcnat-image

.PHONY: all build test vet fmt-check update demo bench e2e clean image test-image print-version

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/svcnat ./cmd/svcnat
	$(GO) build -o $(BIN)/svcnat-gen ./cmd/svcnat-gen
	$(GO) build -o $(BIN)/svcnat-demo ./cmd/svcnat-demo

## demo: a virtual node in network namespaces serving the seed Service (needs root).
demo: build
	$(BIN)/svcnat-demo --svcnat $(BIN)/svcnat

## test: everything CI runs: formatting, vet, unit, golden, netns and smoke tests.
test: fmt-check vet
	$(GO) test $(TESTFLAGS) $(PKGS)

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./test/e2e
	$(GO) vet -tags image ./test/image

## e2e: svcnat run against a real kube-apiserver + etcd in network namespaces (root).
## Builds kube-apiserver once into .cache/bin (about 10 minutes cold, then reused).
e2e:
	tools/kubernetes/build.sh
	E2E_REQUIRED=1 $(GO) test -tags e2e -count=1 -v -timeout 15m ./test/e2e

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: Go benchmarks and the one-table driver (root; throwaway namespaces only).
## Takes tens of minutes at 50k Services; docs/BENCHMARKS.md has the figures.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./backend/nftables/ ./backend/iptables/
	$(GO) run ./cmd/svcnat-bench --sizes 1000,10000,50000 --svcnat $(BIN)/svcnat

## update: rewrite golden sections of testdata/*.txtar.
update:
	$(GO) test ./synth ./backend/nftables ./backend/iptables -run 'Golden|Scenario' -update

## image: the container image as an OCI archive, $(IMAGE) (and the layout in
## $(IMAGE_LAYOUT)/), without a container engine: the static binary plus
## Debian's iptables packages (downloaded with apt-get into .cache/debs).
## Same tree, same digest. deploy/README.md tells how to push it.
image:
	@mkdir -p $(BIN)/image
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN)/image/svcnat ./cmd/svcnat
	tools/image/debs.sh .cache/debs > $(BIN)/image/debs.txt
	$(GO) run ./cmd/svcnat-image --binary $(BIN)/image/svcnat --version $(VERSION) --revision "$(REVISION)" \
		--created $(SOURCE_DATE_EPOCH) --layout $(IMAGE_LAYOUT) -o $(IMAGE) $$(cat $(BIN)/image/debs.txt)

## test-image: builds the image twice (same digest), runs it chrooted in a lab
## node with the DaemonSet's arguments and capabilities, both backends (root).
test-image:
	IMAGE_REQUIRED=1 $(GO) test -tags image -count=1 -v -timeout 15m ./test/image

print-version:
	@echo $(VERSION)

clean:
	rm -rf $(BIN)
