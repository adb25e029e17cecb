#!/usr/bin/env bash
# Checks Dynamic Resource Allocation on a running dev cluster, with the real
# kube-scheduler and kube-controller-manager (its resourceclaim controller
# makes each pod's ResourceClaim from its ResourceClaimTemplate):
#   - a pod whose claim template asks for 2 devices of class gpu.nvidia.com
#     with productName "NVIDIA H100 80GB HBM3" and >= 40Gi memory lands on
#     gpu-h100-0; its claim is allocated two of that node's devices
#     (pool gpu-h100-0) and reserved for the pod; kwok runs the pod;
#   - a pod asking for a MIG 1g.10gb device (class mig.nvidia.com) lands on
#     gpu-a100-mig-0;
#   - a pod whose selector no device matches ("NVIDIA B200") stays Pending,
#     PodScheduled=False, reason Unschedulable, "cannot allocate all claims";
#   - a pod asking for 7 H100s waits while the first pod holds 2 of the 8,
#     and is scheduled once that pod is deleted (its devices are freed).
# Needs the DeviceClasses and ResourceSlices of hack/dev-cluster/dra (up.sh
# applies them). Leaves nothing behind. Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
ns=dev-cluster-check-dra
k=("${kubectl[@]}" -n "$ns")

fail() { echo "FAIL: $*" >&2; "${k[@]}" get pods,resourceclaims -o wide >&2 || true; exit 1; }
ok() { echo "ok: $*"; }
cleanup() { "${kubectl[@]}" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${kubectl[@]}" get deviceclass gpu.nvidia.com mig.nvidia.com >/dev/null || fail "DeviceClasses missing: kubectl apply -f hack/dev-cluster/dra/"
"${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1 && { "${kubectl[@]}" delete namespace "$ns" --wait=true --timeout=60s >/dev/null; }
"${kubectl[@]}" create namespace "$ns" >/dev/null
for _ in $(seq 1 30); do "${k[@]}" get serviceaccount default >/dev/null 2>&1 && break; sleep 1; done

# claim: the pod's one container uses the claim made from template $2.
pod() {
  cat <<YAML
---
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  resourceClaims: [{name: gpu, resourceClaimTemplateName: $2}]
  containers:
  - {name: serve, image: rai-runtime:dev, resources: {claims: [{name: gpu}]}}
YAML
}
template() { # name class count selector
  cat <<YAML
---
apiVersion: resource.k8s.io/v1
kind: ResourceClaimTemplate
metadata: {name: $1}
spec:
  spec:
    devices:
      requests:
      - name: gpu
        exactly:
          deviceClassName: $2
          count: $3
          selectors:
          - cel:
              expression: "$4"
YAML
}
claim_of() { "${k[@]}" get pod "$1" -o jsonpath='{.status.resourceClaimStatuses[0].resourceClaimName}'; }
sched_msg() {
  local msg=""
  for _ in $(seq 1 60); do
    msg=$("${k[@]}" get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')
    [ -n "$msg" ] && break; sleep 1
  done
  echo "$msg"
}

{
  template h100-2 gpu.nvidia.com 2 "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA H100 80GB HBM3' && device.capacity['gpu.nvidia.com'].memory.compareTo(quantity('40Gi')) >= 0"
  template mig-1g mig.nvidia.com 1 "device.attributes['gpu.nvidia.com'].profile == '1g.10gb'"
  template b200 gpu.nvidia.com 1 "device.attributes['gpu.nvidia.com'].productName == 'NVIDIA B200'"
  template any-7 gpu.nvidia.com 7 "true"
  pod dra-h100 h100-2
  pod dra-mig mig-1g
  pod dra-b200 b200
} | "${k[@]}" apply -f - >/dev/null

"${k[@]}" wait --for=condition=Ready pod/dra-h100 --timeout=60s >/dev/null || fail "dra-h100 not Running"
node=$("${k[@]}" get pod dra-h100 -o jsonpath='{.spec.nodeName}')
[ "$node" = gpu-h100-0 ] || fail "dra-h100 landed on $node, want gpu-h100-0"
claim=$(claim_of dra-h100)
[ -n "$claim" ] || fail "dra-h100 has no resourceClaimStatuses"
alloc=$("${k[@]}" get resourceclaim "$claim" -o jsonpath='{range .status.allocation.devices.results[*]}{.driver}/{.pool}/{.device} {end}')
[[ "$alloc" =~ ^gpu.nvidia.com/gpu-h100-0/gpu-[0-7]\ gpu.nvidia.com/gpu-h100-0/gpu-[0-7]\ $ ]] || fail "claim $claim allocation '$alloc'"
reserved=$("${k[@]}" get resourceclaim "$claim" -o jsonpath='{.status.reservedFor[0].name}')
[ "$reserved" = dra-h100 ] || fail "claim $claim reserved for '$reserved'"
ok "H100 claim (productName and memory CEL) allocated on gpu-h100-0: ${alloc% }; pod Running (kwok)"

"${k[@]}" wait --for=condition=Ready pod/dra-mig --timeout=60s >/dev/null || fail "dra-mig not Running"
node=$("${k[@]}" get pod dra-mig -o jsonpath='{.spec.nodeName}')
[ "$node" = gpu-a100-mig-0 ] || fail "dra-mig landed on $node, want gpu-a100-mig-0"
dev=$("${k[@]}" get resourceclaim "$(claim_of dra-mig)" -o jsonpath='{.status.allocation.devices.results[0].device}')
[[ "$dev" == gpu-0-mig-19-*-1 ]] || fail "dra-mig got device '$dev', want a 1g.10gb one (gpu-0-mig-19-*-1)"
ok "MIG 1g.10gb claim allocated on gpu-a100-mig-0: $dev"

msg=$(sched_msg dra-b200)
[[ "$msg" == *"cannot allocate all claims"* ]] || fail "dra-b200: scheduling message '$msg' lacks 'cannot allocate all claims'"
reason=$("${k[@]}" get pod dra-b200 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}')
[ "$reason" = Unschedulable ] || fail "dra-b200: PodScheduled reason '$reason'"
[ "$("${k[@]}" get pod dra-b200 -o jsonpath='{.status.phase}')" = Pending ] || fail "dra-b200 is not Pending"
ok "claim no device matches: pod Pending, PodScheduled=False Unschedulable: $msg"

pod dra-any-7 any-7 | "${k[@]}" apply -f - >/dev/null
msg=$(sched_msg dra-any-7)
[[ "$msg" == *"cannot allocate all claims"* ]] || fail "dra-any-7: scheduling message '$msg' (6 of 8 H100s are free)"
ok "7-GPU claim waits while 2 of the 8 H100s are allocated"
"${k[@]}" delete pod dra-h100 --wait=true --timeout=60s >/dev/null
"${k[@]}" wait --for=condition=Ready pod/dra-any-7 --timeout=60s >/dev/null || fail "dra-any-7 not Running after dra-h100 freed its devices"
ok "7-GPU claim allocated once dra-h100 was deleted"
echo "dev cluster DRA checks passed"
