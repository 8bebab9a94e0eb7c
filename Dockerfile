# The manager image for a container engine (`make docker-build`). `make image` builds the same
# image without one (hack/image); this file is not built by CI. The build step is the same
# `go build` that `make image` runs, with cgo off for a static binary and the version stamped.
FROM golang:1.26 AS builder
WORKDIR /workspace
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
ARG VERSION=dev
ARG REVISION=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w \
    -X github.com/llm-d-incubation/workload-variant-autoscaler/internal/version.Version=${VERSION} \
    -X github.com/llm-d-incubation/workload-variant-autoscaler/internal/version.Commit=${REVISION}" \
    -o manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
