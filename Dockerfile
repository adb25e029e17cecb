# The manager image: a static, cgo-free binary on a distroless base, as UID 65532.
#
#   docker build -t rmodel-operator:dev .                  from source (the default target)
#   docker build --target host -t rmodel-operator:dev .    from bin/manager (`make build-manager`)
#
# The host target takes the binary built on the host from the build context,
# for machines that cannot pull BUILD_IMAGE; `make image-manager` builds it
# with podman on a local stand-in of BASE_IMAGE (docs/images.md). Targets,
# not a build argument, choose the path: podman 4.3 resolves a stage named by
# an argument only when the argument is given.
#
# Build arguments:
#   BUILD_IMAGE  the Go toolchain image of the build stage (default golang:1.26)
#   BASE_IMAGE   the image the manager runs on (default distroless static:nonroot)
ARG BUILD_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static:nonroot

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/manager ./cmd/manager

FROM ${BASE_IMAGE} AS runtime
USER 65532:65532
ENTRYPOINT ["/manager"]

FROM runtime AS host
COPY bin/manager /manager

FROM runtime
COPY --from=build /out/manager /manager
