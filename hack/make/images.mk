# Images (Dockerfile, Dockerfile.runtime), built and tested with podman.
#
# Base images cannot be pulled on these machines: `make images` builds the
# binaries on the host and copies them into local stand-ins of the distroless
# bases, built from Debian packages (hack/images/build-base.sh). With registry
# access, `make docker-build` builds the images the way a user would: from
# source, on the upstream bases. See docs/images.md.

CONTAINER_TOOL ?= docker
STANDIN_STATIC ?= localhost/rai-standin/static:nonroot
STANDIN_CC ?= localhost/rai-standin/cc-debian12:nonroot
# Podman names local images localhost/NAME.
IMAGE_MANAGER ?= localhost/$(IMG)
IMAGE_RUNTIME ?= localhost/$(RUNTIME_IMG)
IMAGES_OUT := $(ROOT)/_output/images
# onnxruntime with its CUDA provider, for the CUDA library check: apart from
# bin/onnxruntime, so that the other tests keep a CPU-only onnxruntime.
IMAGES_ORT_CUDA := $(IMAGES_OUT)/onnxruntime-cuda

##@ Images

.PHONY: images image-setup image-bases image-manager image-runtime test-images test-images-cuda docker-build

images: image-manager image-runtime ## Build the manager (IMAGE_MANAGER) and runtime (IMAGE_RUNTIME) images with podman, from bin/, on stand-in bases.

image-setup: ## Install podman, runc and mmdebstrap (apt) and configure podman for this machine (once).
	hack/images/setup-podman.sh

image-bases: image-setup ## Build the stand-in bases (STANDIN_STATIC, STANDIN_CC) from Debian packages (cached).
	hack/images/build-base.sh static $(STANDIN_STATIC)
	hack/images/build-base.sh cc $(STANDIN_CC)

# stage DIR FILE...: a build context holding only FILE... (hard links), at
# their paths in the repository, so that podman does not read bin/ whole.
stage = rm -rf $(1) && mkdir -p $(1) && for f in $(2); do mkdir -p $(1)/$$(dirname $$f) && { ln -f $$f $(1)/$$f 2>/dev/null || cp -f $$f $(1)/$$f; }; done

image-manager: image-bases build-manager
	$(call stage,$(IMAGES_OUT)/context-manager,bin/manager)
	podman build --quiet -f Dockerfile --target host --build-arg BASE_IMAGE=$(STANDIN_STATIC) \
		-t $(IMAGE_MANAGER) $(IMAGES_OUT)/context-manager >/dev/null
	@echo ">> built $(IMAGE_MANAGER)"

image-runtime: image-bases build-rai onnxruntime
	$(call stage,$(IMAGES_OUT)/context-runtime,bin/rai bin/onnxruntime/libonnxruntime.so.1)
	podman build --quiet -f Dockerfile.runtime --target host --build-arg BASE_IMAGE=$(STANDIN_CC) \
		-t $(IMAGE_RUNTIME) $(IMAGES_OUT)/context-runtime >/dev/null
	@echo ">> built $(IMAGE_RUNTIME)"

test-images: images $(DEV_CLUSTER_BINARIES) images-ort-cuda ## Run the images: rai serve and rai evaluate as UID 65532, read-only, no capabilities; the manager reconciling on a dev cluster of its own; the CUDA library list.
	RAI_IMAGE_RUNTIME=$(IMAGE_RUNTIME) RAI_IMAGE_MANAGER=$(IMAGE_MANAGER) RAI_ORT_CUDA_DIR=$(IMAGES_ORT_CUDA) \
		GO_TEST_FLAGS="$(GO_TEST_FLAGS)" hack/images/test.sh

test-images-cuda: images-ort-cuda ## Check hack/images/cuda-libraries.txt against the CUDA provider's ELF (no GPU needed).
	RAI_ORT_CUDA_DIR=$(IMAGES_ORT_CUDA) go test $(GO_TEST_FLAGS) -run CUDA -v ./test/images/...

.PHONY: images-ort-cuda
images-ort-cuda: onnxruntime
	mkdir -p $(IMAGES_ORT_CUDA)
	ln -f $(ORT_DIR)/libonnxruntime.so.1 $(IMAGES_ORT_CUDA)/ 2>/dev/null || cp -f $(ORT_DIR)/libonnxruntime.so.1 $(IMAGES_ORT_CUDA)/
	hack/fetch-onnxruntime.sh cuda $(IMAGES_ORT_CUDA)

# The upstream path, for machines with registry access: built from source on
# the distroless bases (CONTAINER_TOOL=podman works too).
docker-build: ## Build the manager image (IMG) and the runtime image (RUNTIME_IMG) from source with CONTAINER_TOOL (docker), on the upstream bases.
	$(CONTAINER_TOOL) build -t $(IMG) .
	$(CONTAINER_TOOL) build -f Dockerfile.runtime -t $(RUNTIME_IMG) .
