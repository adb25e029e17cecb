#!/usr/bin/env bash
# Builds etcd and the Kubernetes control-plane binaries (plus kubectl) from the
# Go module proxy into bin/k8s/. setup-envtest cannot download here, so the
# envtest suites and the local dev cluster use these. Versions are pinned in
# hack/tools/{kube,etcd}/go.mod. A binary that already exists is kept: delete
# bin/k8s to rebuild.
#
# The Kubernetes binaries named are built by one `go build` (one package
# load, and each binary's link overlaps the others' compiles); etcd, its own
# module, builds beside it. While they build, a line every 20 s says how many
# packages are compiled, of the at most 3,200 they import (a first build
# compiles them all), and about how long is left.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/k8s"
mkdir -p "$out"
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler)

kube=() etcd=false
for b in "${want[@]}"; do
  [ -x "$out/$b" ] && continue
  case "$b" in
  etcd) etcd=true ;;
  kube-apiserver | kube-controller-manager | kube-scheduler | kubectl) kube+=("$b") ;;
  *) echo "build-kube-binaries: unknown binary $b" >&2; exit 2 ;;
  esac
done
$etcd || [ ${#kube[@]} -gt 0 ] || exit 0

work=$(mktemp -d "$out/.build.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# build NAME DIR ARGS...: go build -v in DIR, its package lines to $work/NAME.log.
build() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && CGO_ENABLED=0 go build -v -trimpath "$@") 2>"$work/$name.log"
}

start=$SECONDS
pids=() names=()
if [ ${#kube[@]} -gt 0 ]; then
  # Stamp the version (an unstamped build reports v0.0.0-master+$Format:%H$,
  # which Kueue, among others, refuses to parse).
  v=$(cd "$root/hack/tools/kube" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  IFS=. read -r major minor _ <<<"${v#v}"
  pkgs=()
  for b in "${kube[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  mkdir -p "$work/kube"
  build kube "$root/hack/tools/kube" -o "$work/kube/" \
    -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
    "${pkgs[@]}" &
  pids+=($!) names+=("${kube[*]}")
fi
if $etcd; then
  build etcd "$root/hack/tools/etcd" -ldflags="-s -w" -o "$work/etcd" . &
  pids+=($!) names+=(etcd)
fi
echo ">> building ${names[*]} from the Go module proxy (the first build takes minutes; cached in bin/k8s)" >&2

# Progress: compiled packages (go build -v prints each one it compiles, not
# the ones it finds cached) against what a first build compiles: every
# package the binaries import.
total=0
if [ ${#kube[@]} -gt 0 ]; then
  total=$((total + $(cd "$root/hack/tools/kube" && go list -deps "${pkgs[@]}" 2>/dev/null | wc -l)))
fi
if $etcd; then
  total=$((total + $(cd "$root/hack/tools/etcd" && go list -deps . 2>/dev/null | wc -l)))
fi
running() {
  local p
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done
  return 1
}
while running; do
  sleep 1
  elapsed=$((SECONDS - start))
  if ((elapsed % 20 == 0)); then
    n=$(cat "$work"/*.log 2>/dev/null | grep -cv -e '^#' -e '^go: ' || true)
    if ((n > 50 && n < total)); then
      left=$((elapsed * (total - n) / n))
      printf '>> %d:%02d elapsed, %d of at most %d packages compiled, about %d min left\n' $((elapsed / 60)) $((elapsed % 60)) "$n" "$total" $(((left + 59) / 60)) >&2
    elif ((n >= total && total > 0)); then
      printf '>> %d:%02d elapsed, %d packages compiled, linking\n' $((elapsed / 60)) $((elapsed % 60)) "$n" >&2
    else
      printf '>> %d:%02d elapsed, downloading and loading modules\n' $((elapsed / 60)) $((elapsed % 60)) >&2
    fi
  fi
done

failed=false
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=true
    echo ">> building ${names[$i]} failed:" >&2
  fi
done
if $failed; then
  for f in "$work"/*.log; do grep -v -e '^[a-zA-Z0-9_./-]*$' "$f" >&2 || true; done
  exit 1
fi
for b in "${kube[@]}"; do mv "$work/kube/$b" "$out/$b"; done
$etcd && mv "$work/etcd" "$out/etcd"
printf '>> built %s in %d:%02d\n' "${names[*]}" $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) >&2
