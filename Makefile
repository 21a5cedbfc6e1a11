# svcnat — see README.md. Every target that touches netfilter does so only
# inside network namespaces it creates (tests need root).

GO       ?= go
BIN      := bin
PKGS     := ./...
TESTFLAGS ?= -timeout 20m
# VERSION is what `svcnat --version` prints and the image is labelled with:
# `git describe` of the tree (a tag vX.Y.Z at a release; the VERSION file
# names the release deploy/ pins). Without git the binary falls back to what
# the Go toolchain recorded.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || cat VERSION)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# Every date in the image: the commit's, so that rebuilding gives the same digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS  := -X github.com/svcnat/svcnat/internal/version.version=$(VERSION)
IMAGE    ?= $(BIN)/svcnat-image.tar
IMAGE_LAYOUT ?= $(BIN)/svcnat-image

.PHONY: all build test test-unprivileged vet fmt-check tidy-check update demo bench fuzz e2e fleet clean image test-image print-version

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
test: fmt-check tidy-check vet
	$(GO) test $(TESTFLAGS) $(PKGS)
	$(MAKE) test-unprivileged

## test-unprivileged: the backend tests as a user without root (nobody when run as
## root): every scenario's flow table through the iptables simulator and the
## nftables fake kernel.
test-unprivileged:
	GO=$(GO) tools/unprivileged/run.sh

## tidy-check: go.mod and go.sum are what the imports need, nothing more.
tidy-check:
	$(GO) mod tidy -diff

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags e2e ./test/e2e
	$(GO) vet -tags image ./test/image
	$(GO) vet -tags fleet ./test/fleet

## e2e: svcnat run against a real kube-apiserver + etcd in network namespaces (root).
## Builds kube-apiserver, kube-proxy and etcd once into .cache/bin (about 10 minutes cold, then reused).
## Then a small fleet (3 nodes, 100 Services, svcnat and kube-proxy; about 3 minutes).
e2e:
	tools/kubernetes/build.sh
	E2E_REQUIRED=1 $(GO) test -tags e2e -count=1 -v -timeout 15m ./test/e2e
	FLEET_REQUIRED=1 FLEET_NODES=3 FLEET_SERVICES=100 FLEET_CHURN=20s FLEET_OUTAGE=10s \
		FLEET_REPORT=$(CURDIR)/.cache/fleet-e2e.md $(GO) test -tags fleet -count=1 -v -timeout 20m ./test/fleet

## fleet: FLEET_NODES nodes (8) against one API server, FLEET_SERVICES Services
## (1000), svcnat and kube-proxy side by side (root; several minutes per proxy).
## Ends with one "fleet: proxy=..." line per proxy; test/fleet/doc.go lists the
## FLEET_* settings. The test binary runs directly so that those lines come last.
FLEET_TEST := $(CURDIR)/.cache/fleet.test
fleet:
	tools/kubernetes/build.sh
	$(GO) test -c -tags fleet -o $(FLEET_TEST) ./test/fleet
	cd test/fleet && FLEET_REQUIRED=1 $(FLEET_TEST) -test.v -test.count=1 -test.timeout 180m

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: Go benchmarks and the one-table driver (root; throwaway namespaces only).
## Takes tens of minutes at 50k Services; docs/BENCHMARKS.md has the figures.
## The first line is the agent's own work for one endpoint change (no kernel).
## The OneBigService rows are one Service with 1k, 10k and 100k endpoints
## (render, full apply, one endpoint removed or moved). The last command is
## the data plane: new TCP connections/s through a ClusterIP and a NodePort
## against a direct route to the pod, 10 and 10k Services, every backend.
bench: build
	$(GO) test -run '^$$' -bench 'SyncOneEndpoint|BuilderOneEndpoint' -benchmem ./agent/ ./synth/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x ./backend/nftables/ ./backend/iptables/
	SVCNAT_BENCH_100K=1 $(GO) test -run '^$$' -bench 'OneBigService' -benchmem -benchtime 5x ./backend/nftables/ ./backend/iptables/
	$(GO) run ./cmd/svcnat-bench --sizes 1000,10000,50000 --svcnat $(BIN)/svcnat
	$(GO) run ./cmd/svcnat-bench --dataplane --sizes 10,10000 --rounds 9 --round 1s

## fuzz: each fuzz target for FUZZTIME (root: the renderers' output is
## loaded in throwaway namespaces). `make test` runs the seed corpora.
## Minimization is off by default (a slow input can be minimized for ages);
## the explicit -timeout keeps go test's default 10 min from killing a long
## fuzz. CONTRIBUTING.md, "Fuzzing", tells more.
FUZZTIME ?= 5m
FUZZMINIMIZETIME ?= 0
FUZZPARALLEL ?= $(shell nproc 2>/dev/null || echo 1)
FUZZTIMEOUT ?= 1h
FUZZ_TARGETS := ./manifest:FuzzStreamMatchesWhole ./manifest:FuzzFastTypeMeta ./manifest:FuzzBlockYAMLMatchesYAML ./synth:FuzzBuild \
	./backend/nftables:FuzzRenderLoads ./backend/iptables:FuzzRenderLoads
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$pkg $$fn ($(FUZZTIME), $(FUZZPARALLEL) workers)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) \
			-fuzzminimizetime $(FUZZMINIMIZETIME) -parallel $(FUZZPARALLEL) \
			-timeout $(FUZZTIMEOUT) $$pkg || exit 1; \
	done

## update: rewrite golden sections of testdata/*.txtar.
update:
	$(GO) test ./synth ./backend/nftables ./backend/iptables -run 'Golden|Scenario' -update
	$(GO) test ./explain ./cmd/svcnat -run 'Golden|Status' -update

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
