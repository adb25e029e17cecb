#!/usr/bin/env bash
# Checks a running dev cluster end to end, with the real kube-scheduler:
#   - a pod asking for 2 nvidia.com/gpu, tolerating the GPU taint and
#     requiring the H100 product label lands on gpu-h100-0 (and kwok runs it);
#   - a pod asking for 16 GPUs stays Pending: "Insufficient nvidia.com/gpu";
#   - a pod asking for a MIG slice lands on gpu-a100-mig-0;
#   - a Deployment on the CPU nodes becomes Available and a Job Completes
#     (kwok fakes both);
#   - a pod selecting the local node without tolerating its taint stays
#     Pending, and one that tolerates it really runs there: Succeeded, with
#     the termination message its process wrote;
#   - Dynamic Resource Allocation (hack/dev-cluster/dra/check.sh), unless
#     the cluster was started with DEV_CLUSTER_DRA=0.
# Leaves nothing behind (its namespace is deleted). Exits non-zero on the
# first failed check.
set -euo pipefail
source "$(dirname "$0")/env.sh"
ns=dev-cluster-check
k=("${kubectl[@]}" -n "$ns")

fail() { echo "FAIL: $*" >&2; "${k[@]}" get pods -o wide >&2 || true; exit 1; }
ok() { echo "ok: $*"; }
cleanup() { "${kubectl[@]}" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1 && { "${kubectl[@]}" delete namespace "$ns" --wait=true --timeout=60s >/dev/null; }
"${kubectl[@]}" create namespace "$ns" >/dev/null
# Pods need the namespace's default service account.
for _ in $(seq 1 30); do "${k[@]}" get serviceaccount default >/dev/null 2>&1 && break; sleep 1; done

"${k[@]}" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: gpu-2}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: nvidia.com/gpu.product, operator: In, values: [NVIDIA-H100-80GB-HBM3]}]
  containers:
  - {name: serve, image: rai-runtime:dev, resources: {limits: {nvidia.com/gpu: 2}}}
---
apiVersion: v1
kind: Pod
metadata: {name: gpu-16}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  containers:
  - {name: serve, image: rai-runtime:dev, resources: {limits: {nvidia.com/gpu: 16}}}
---
apiVersion: v1
kind: Pod
metadata: {name: mig-1g}
spec:
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  containers:
  - {name: serve, image: rai-runtime:dev, resources: {limits: {nvidia.com/mig-1g.10gb: 1}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cpu-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: cpu-web}}
  template:
    metadata: {labels: {app: cpu-web}}
    spec:
      containers: [{name: web, image: rai-runtime:dev}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: fake-job}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: rai-runtime:dev}]
---
apiVersion: v1
kind: Pod
metadata: {name: local-untolerated}
spec:
  nodeSelector: {rai.responsible-ai.dev/local-exec: "true"}
  containers: [{name: main, image: none, command: [sh, -c, "true"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: local-run}
spec:
  restartPolicy: Never
  nodeSelector: {rai.responsible-ai.dev/local-exec: "true"}
  tolerations: [{key: rai.responsible-ai.dev/local-exec, operator: Equal, value: "true", effect: NoSchedule}]
  containers:
  - name: main
    image: none
    # "$1" is /dev/termination-log, which the local node rewrites to a local file.
    command: [sh, -c, 'echo "ran on $NODE in $PWD" > "$1"', sh, /dev/termination-log]
    env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
YAML

"${k[@]}" wait --for=condition=Ready pod/gpu-2 --timeout=60s >/dev/null || fail "gpu-2 not Running"
node=$("${k[@]}" get pod gpu-2 -o jsonpath='{.spec.nodeName}')
[ "$node" = gpu-h100-0 ] || fail "gpu-2 landed on $node, want gpu-h100-0"
ok "2-GPU pod with H100 affinity scheduled on gpu-h100-0 and Running (kwok)"

for _ in $(seq 1 60); do
  msg=$("${k[@]}" get pod gpu-16 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')
  [ -n "$msg" ] && break; sleep 1
done
[[ "$msg" == *"Insufficient nvidia.com/gpu"* ]] || fail "gpu-16: scheduling message '$msg' lacks 'Insufficient nvidia.com/gpu'"
[ "$("${k[@]}" get pod gpu-16 -o jsonpath='{.status.phase}')" = Pending ] || fail "gpu-16 is not Pending"
ok "16-GPU pod Pending: $msg"

"${k[@]}" wait --for=condition=Ready pod/mig-1g --timeout=60s >/dev/null || fail "mig-1g not Running"
node=$("${k[@]}" get pod mig-1g -o jsonpath='{.spec.nodeName}')
[ "$node" = gpu-a100-mig-0 ] || fail "mig-1g landed on $node, want gpu-a100-mig-0"
ok "MIG 1g.10gb pod scheduled on gpu-a100-mig-0"

"${k[@]}" wait --for=condition=Available deployment/cpu-web --timeout=60s >/dev/null || fail "deployment cpu-web not Available"
for n in $("${k[@]}" get pods -l app=cpu-web -o jsonpath='{.items[*].spec.nodeName}'); do
  [[ "$n" == cpu-* ]] || fail "cpu-web pod on $n: untainted pods belong on the CPU nodes"
done
ok "Deployment Available on the CPU nodes (kwok)"
"${k[@]}" wait --for=condition=Complete job/fake-job --timeout=60s >/dev/null || fail "job fake-job not Complete"
ok "Job Complete (kwok)"

"${k[@]}" wait --for=jsonpath='{.status.phase}'=Succeeded pod/local-run --timeout=60s >/dev/null || fail "local-run did not succeed; agent log: $(tail -5 "$localnode_log")"
msg=$("${k[@]}" get pod local-run -o jsonpath='{.status.containerStatuses[0].state.terminated.message}')
[[ "$msg" == "ran on local-exec in "*/work ]] || fail "local-run termination message '$msg'"
ok "pod on local-exec really ran: '$msg'"
reason=$("${k[@]}" get pod local-untolerated -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}')
[[ "$reason" == *"untolerated taint"* ]] || fail "local-untolerated: scheduling message '$reason'"
ok "pod without the toleration kept off local-exec: $reason"
if "${kubectl[@]}" get deviceclass gpu.nvidia.com >/dev/null 2>&1; then
  "$root/hack/dev-cluster/dra/check.sh"
fi
echo "dev cluster checks passed"
