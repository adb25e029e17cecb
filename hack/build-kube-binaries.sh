#!/usr/bin/env bash
# Builds etcd and the Kubernetes control-plane binaries (plus kubectl) from the
# Go module proxy into bin/k8s/. setup-envtest cannot download here, so the
# envtest suites and the local dev cluster use these. Versions are pinned in
# hack/tools/{kube,etcd}/go.mod. A binary that already exists is kept: delete
# bin/k8s to rebuild.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/k8s"
mkdir -p "$out"
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler)
for b in "${want[@]}"; do
  if [ -x "$out/$b" ]; then continue; fi
  echo ">> building $b (first build takes minutes; cached in bin/k8s)" >&2
  case "$b" in
    etcd) (cd "$root/hack/tools/etcd" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out/etcd.tmp" .) ;;
    *)
      # Stamp the version (an unstamped build reports v0.0.0-master+$Format:%H$,
      # which Kueue, among others, refuses to parse).
      v=$(cd "$root/hack/tools/kube" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
      IFS=. read -r major minor _ <<<"${v#v}"
      (cd "$root/hack/tools/kube" && CGO_ENABLED=0 go build -trimpath -o "$out/$b.tmp" \
        -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
        "k8s.io/kubernetes/cmd/$b") ;;
  esac
  mv "$out/$b.tmp" "$out/$b"
done
