#!/usr/bin/env bash
# Starts the dev cluster: a kwok cluster run by kwokctl's binary runtime
# from locally built etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (no containers), its fake GPU and CPU nodes, and
# the local execution node agent (bin/localnode), whose pods run as local
# processes. Idempotent: a running cluster or agent is kept.
#
# Needs bin/k8s/{etcd,kube-apiserver,kube-controller-manager,kube-scheduler,kubectl},
# bin/kwok, bin/kwokctl and bin/localnode (`make dev-cluster` builds them).
# Environment: DEV_CLUSTER_NAME (default rmodel-dev), DEV_CLUSTER_DIR
# (default _output/dev-cluster), RAI_BINARY (default bin/rai),
# LOCALNODE_ARGS (extra agent flags), DEV_CLUSTER_DRA (default 1: apply the
# DRA DeviceClasses and the fake GPU nodes' ResourceSlices, hack/dev-cluster/dra;
# 0 skips them), DEV_CLUSTER_KUEUE (default 0; 1 also runs
# hack/dev-cluster/kueue/up.sh: Kueue's CRDs and controller manager, which
# needs bin/kueue, `make kueue`), DEV_CLUSTER_KUBE_BIN (default bin/k8s).
set -euo pipefail
source "$(dirname "$0")/env.sh"

for b in "$kube_bin/etcd" "$kube_bin/kube-apiserver" "$kube_bin/kube-controller-manager" "$kube_bin/kube-scheduler" "$kube_bin/kubectl" "$bin/kwok" "$bin/kwokctl" "$bin/localnode"; do
  [ -x "$b" ] || { echo "missing $b: run 'make dev-cluster' (it builds everything)" >&2; exit 1; }
done
mkdir -p "$out"
start=$(date +%s)

if "$bin/kwokctl" get clusters 2>/dev/null | grep -qx "$cluster_name"; then
  echo ">> cluster $cluster_name exists; starting it in case it was stopped"
  "$bin/kwokctl" -v WARN start cluster --name "$cluster_name" >/dev/null
else
  echo ">> creating cluster $cluster_name (kwokctl, binary runtime)"
  "$bin/kwokctl" -v WARN --config "$root/hack/dev-cluster/kwokctl.yaml" create cluster \
    --name "$cluster_name" \
    --runtime binary \
    --kubeconfig "$kubeconfig" \
    --etcd-binary "$kube_bin/etcd" \
    --kube-apiserver-binary "$kube_bin/kube-apiserver" \
    --kube-controller-manager-binary "$kube_bin/kube-controller-manager" \
    --kube-scheduler-binary "$kube_bin/kube-scheduler" \
    --kwok-controller-binary "$bin/kwok" \
    --wait 2m
fi
# kwokctl adds its context to the file given; keep a file that holds only
# this cluster, as the current context.
"${kubectl[@]}" config use-context "kwok-$cluster_name" >/dev/null

echo ">> fake nodes (kwok): gpu-h100-0, gpu-a100-mig-0, cpu-0, cpu-1"
"${kubectl[@]}" apply -f "$root/hack/dev-cluster/nodes.yaml" >/dev/null
if [ "${DEV_CLUSTER_DRA:-1}" != 0 ]; then
  # No DRA kubelet plugin runs on a kwok node: publish the devices the NVIDIA
  # DRA driver would, so the scheduler allocates ResourceClaims from them.
  echo ">> DRA: DeviceClasses gpu.nvidia.com, mig.nvidia.com; ResourceSlices of the fake GPU nodes"
  "${kubectl[@]}" apply -f "$root/hack/dev-cluster/dra/deviceclasses.yaml" -f "$root/hack/dev-cluster/dra/resourceslices.yaml" >/dev/null
fi

if [ -f "$localnode_pid" ] && kill -0 "$(cat "$localnode_pid")" 2>/dev/null; then
  echo ">> local execution node agent already running (pid $(cat "$localnode_pid"))"
  if [ "$(sha256sum <"$bin/localnode")" != "$(cat "$out/localnode.sha256" 2>/dev/null)" ]; then
    echo "   note: bin/localnode changed since the agent started; 'make dev-cluster-down dev-cluster' runs the new one"
  fi
else
  sha256sum <"$bin/localnode" >"$out/localnode.sha256"
  echo ">> starting the local execution node agent (log: ${localnode_log#$root/})"
  ort_env=()
  if [ -e "$bin/onnxruntime/libonnxruntime.so.1" ]; then
    ort_env=(--env "RAI_ONNXRUNTIME_LIB=$bin/onnxruntime/libonnxruntime.so.1")
  fi
  # setsid: the agent outlives this script and make; dev-cluster-down stops it.
  # shellcheck disable=SC2086
  setsid nohup "$bin/localnode" \
    --kubeconfig "$kubeconfig" \
    --state-dir "$localnode_dir" \
    --binary-map "rai=${RAI_BINARY:-$bin/rai}" \
    "${ort_env[@]}" ${LOCALNODE_ARGS:-} \
    >"$localnode_log" 2>&1 </dev/null &
  echo $! >"$localnode_pid"
fi

echo ">> waiting for every node to be Ready"
if ! "${kubectl[@]}" wait --for=condition=Ready node/gpu-h100-0 node/gpu-a100-mig-0 node/cpu-0 node/cpu-1 --timeout=90s >/dev/null; then
  "${kubectl[@]}" get nodes >&2 || true
  exit 1
fi
for _ in $(seq 1 60); do
  "${kubectl[@]}" get node local-exec >/dev/null 2>&1 && break
  kill -0 "$(cat "$localnode_pid")" 2>/dev/null || { echo "the local node agent exited; its log:" >&2; tail -20 "$localnode_log" >&2; exit 1; }
  sleep 1
done
if ! "${kubectl[@]}" wait --for=condition=Ready node/local-exec --timeout=60s >/dev/null; then
  echo "node local-exec not Ready; agent log:" >&2; tail -20 "$localnode_log" >&2; exit 1
fi

if [ "${DEV_CLUSTER_KUEUE:-0}" = 1 ]; then
  "$root/hack/dev-cluster/kueue/up.sh"
fi

"${kubectl[@]}" get nodes -L nvidia.com/gpu.product,rai.responsible-ai.dev/local-exec
echo
echo "dev cluster $cluster_name is up in $(( $(date +%s) - start ))s. Use it with:"
echo "  export KUBECONFIG=${kubeconfig}"
