# Workload Variant Autoscaler — build, generate, verify and test.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

GO ?= go
CONTROLLER_GEN ?= $(GO) tool controller-gen
PKGS ?= ./...
BIN_DIR ?= bin
# Go test flags; CI and users get the race detector.
TEST_FLAGS ?= -race -count=1
BENCH ?= .

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object paths=./api/...

.PHONY: manifests
manifests: ## Generate the CRD and RBAC manifests from markers.
	$(CONTROLLER_GEN) crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=manager-role paths=./internal/... output:rbac:artifacts:config=config/rbac

.PHONY: fmt
fmt: ## Format the Go code.
	$(GO) fmt $(PKGS)

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet $(PKGS)

.PHONY: tidy
tidy: ## Tidy go.mod and go.sum.
	$(GO) mod tidy

.PHONY: verify
verify: generate manifests fmt tidy vet ## Regenerate, format, tidy and vet, then fail on any diff.
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "verify: the tree changed; commit the regenerated files:"; git status --porcelain; git --no-pager diff --stat; exit 1; \
	fi

##@ Run

.PHONY: demo
demo: ## Compare WVA with the HPA, a static fleet and an oracle on the bundled Azure trace, simulated (only Go needed).
	$(GO) run ./cmd/wva simulate --trace testdata/traces/azure-llm-inference-2023-conv.csv --rate-scale 4 --report out/demo

##@ Build

.PHONY: build
build: ## Build the manager and the wva CLI into bin/, version-stamped.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/manager ./cmd/manager
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN_DIR)/wva ./cmd/wva

IMG ?= ghcr.io/llm-d-incubation/workload-variant-autoscaler:latest
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# The modification time of every file in the image: the last commit's, so the same source gives
# the same image digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
GOARCH ?= $(shell $(GO) env GOARCH)
CA_BUNDLE ?= /etc/ssl/certs/ca-certificates.crt
VERSION_PKG := github.com/llm-d-incubation/workload-variant-autoscaler/internal/version
LDFLAGS := -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Commit=$(REVISION)
IMAGE_DIR ?= out/image

.PHONY: image
image: ## Build the manager image as an OCI layout and a docker tarball in out/image/, without a container engine.
	CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" -o $(IMAGE_DIR)/manager ./cmd/manager
	$(GO) run ./hack/image --binary $(IMAGE_DIR)/manager --ca-bundle $(CA_BUNDLE) --version $(VERSION) \
		--revision $(REVISION) --arch $(GOARCH) --epoch $(SOURCE_DATE_EPOCH) --ref $(IMG) \
		--out $(IMAGE_DIR)/layout --tarball $(IMAGE_DIR)/manager.tar

.PHONY: docker-build
docker-build: ## Build the manager image (needs a container engine; not part of CI).
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) -t $(IMG) .

##@ Test

.PHONY: envtest-binaries
envtest-binaries: ## Build kube-apiserver and etcd from Go modules (cached outside the clone).
	@hack/envtest-binaries.sh >/dev/null

.PHONY: prometheus
prometheus: ## Install Debian's prometheus package when it is missing (tests start their own server).
	@hack/install-prometheus.sh

.PHONY: test
test: prometheus ## Run all tests against a real kube-apiserver, etcd and Prometheus.
	@assets="$$(hack/envtest-binaries.sh)"; \
	KUBEBUILDER_ASSETS="$$assets" $(GO) test $(TEST_FLAGS) $(PKGS)

.PHONY: cluster-binaries
cluster-binaries: ## Build kube-controller-manager, kube-scheduler, kwok and KEDA from Go modules (cached outside the clone).
	@hack/cluster-binaries.sh >/dev/null

E2E_FLAGS ?= -count=1 -v -timeout 45m
# E2E_KEDA=0 neither builds nor runs KEDA (its scenario skips).
E2E_KEDA ?= 1

.PHONY: e2e
e2e: prometheus ## Run the end-to-end scenarios on a local cluster (root: it creates a network namespace); writes out/e2e/summary.json.
	@if [ "$(E2E_KEDA)" = 0 ]; then export WITHOUT_KEDA=1 E2E_NO_KEDA=1; fi; \
	bin="$$(hack/cluster-binaries.sh)"; \
	WVA_CLUSTER_BIN="$$bin" $(GO) test -tags e2e $(E2E_FLAGS) ./test/e2e/

.PHONY: bench
bench: ## Run the benchmarks (no tests).
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem $(PKGS)
