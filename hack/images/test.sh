#!/usr/bin/env bash
# Runs the image tests (test/images) on a dev cluster of their own, beside a
# developer's: named rmodel-images, in _output/images/dev-cluster, its local
# node agent on a free port. The cluster is stopped and removed afterwards,
# also when a step fails. `make test-images` builds what it needs first.
#
# Environment: RAI_IMAGE_MANAGER, RAI_IMAGE_RUNTIME (the images),
# RAI_ORT_CUDA_DIR (onnxruntime with its CUDA provider), GO_TEST_FLAGS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DEV_CLUSTER_NAME=rmodel-images
export DEV_CLUSTER_DIR="$root/_output/images/dev-cluster"

# free PORT...: the first port nothing on 127.0.0.1 listens on.
free() {
  for p in "$@"; do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port in $1-${*: -1}" >&2
  return 1
}
export LOCALNODE_ARGS="--kubelet-port $(free $(seq 10270 10299))"

down() { "$root/hack/dev-cluster/down.sh" >/dev/null 2>&1 || true; }
down
trap down EXIT
start=$(date +%s)
"$root/hack/dev-cluster/up.sh" >/dev/null
echo ">> dev cluster $DEV_CLUSTER_NAME up in $(($(date +%s) - start))s"

cd "$root"
RAI_IMAGES_KUBECONFIG="$DEV_CLUSTER_DIR/kubeconfig" KUBECTL="$root/bin/k8s/kubectl" \
  go test ${GO_TEST_FLAGS:--count=1} -v ./test/images/...
