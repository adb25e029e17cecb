# The manager image: a static, cgo-free binary on a distroless base, as UID 65532.
#
#   docker build -t rmodel-operator:dev .
#
# Build arguments:
#   BUILD_IMAGE  the Go toolchain image of the build stage (default golang:1.26)
#   BASE_IMAGE   the image the manager runs on (default distroless static:nonroot)
#   BINARIES     source (default): build cmd/manager in BUILD_IMAGE;
#                host: take bin/manager from the build context (`make build-manager`
#                first; CGO_ENABLED=0), for machines that cannot pull BUILD_IMAGE.
#                `make image-manager` builds this way on a stand-in base
#                (hack/images/build-base.sh).
ARG BUILD_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static:nonroot
ARG BINARIES=source

FROM ${BUILD_IMAGE} AS build-source
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/manager ./cmd/manager

FROM scratch AS build-host
COPY bin/manager /out/manager

FROM build-${BINARIES} AS build

FROM ${BASE_IMAGE}
COPY --from=build /out/manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
