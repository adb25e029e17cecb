#!/usr/bin/env bash
# Checks Kueue on a running dev cluster started with DEV_CLUSTER_KUEUE=1
# (make dev-cluster-kueue), the way the operator's evaluation Jobs use it:
# Jobs created suspended, labelled kueue.x-k8s.io/queue-name=evaluation, in
# a namespace with the LocalQueue of localqueue.yaml; ClusterQueue
# "evaluation" (queues.yaml) has quota for one pod.
#   - Job A (really run on local-exec: sleep 8) is admitted: its Workload's
#     QuotaReserved and Admitted turn True, Kueue sets spec.suspend=false;
#   - Job B, created while A runs, waits: its Workload's QuotaReserved is
#     False, reason Pending, "insufficient unused quota for pods ...", and
#     the Job stays suspended;
#   - when A completes (Workload Finished), B is admitted and completes
#     (kwok fakes its pod on a CPU node).
# Leaves nothing behind. Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
ns=dev-cluster-check-kueue
k=("${kubectl[@]}" -n "$ns")

fail() { echo "FAIL: $*" >&2; "${k[@]}" get jobs,workloads,pods -o wide >&2 || true; exit 1; }
ok() { echo "ok: $*"; }
cleanup() { "${kubectl[@]}" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

"${kubectl[@]}" get clusterqueue evaluation >/dev/null 2>&1 || fail "no ClusterQueue evaluation: start the cluster with DEV_CLUSTER_KUEUE=1 (make dev-cluster-kueue)"
"${kubectl[@]}" get namespace "$ns" >/dev/null 2>&1 && { "${kubectl[@]}" delete namespace "$ns" --wait=true --timeout=60s >/dev/null; }
"${kubectl[@]}" create namespace "$ns" >/dev/null
for _ in $(seq 1 30); do "${k[@]}" get serviceaccount default >/dev/null 2>&1 && break; sleep 1; done
"${k[@]}" apply -f "$root/hack/dev-cluster/kueue/localqueue.yaml" >/dev/null

job() { # name, then the pod spec's extra lines
  local name=$1; shift
  cat <<YAML
---
apiVersion: batch/v1
kind: Job
metadata:
  name: $name
  labels: {kueue.x-k8s.io/queue-name: evaluation}
spec:
  suspend: true
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
$(printf '      %s\n' "$@")
YAML
}
workload() { # the Workload Kueue made for Job $1
  local uid
  uid=$("${k[@]}" get job "$1" -o jsonpath='{.metadata.uid}')
  for _ in $(seq 1 30); do
    wl=$("${k[@]}" get workloads -l "kueue.x-k8s.io/job-uid=$uid" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null || true)
    [ -n "$wl" ] && { echo "$wl"; return; }
    sleep 1
  done
}
cond() { "${k[@]}" get workload "$1" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}"; }

job eval-a \
  'nodeSelector: {rai.responsible-ai.dev/local-exec: "true"}' \
  'tolerations: [{key: rai.responsible-ai.dev/local-exec, operator: Equal, value: "true", effect: NoSchedule}]' \
  'containers: [{name: main, image: none, command: [sleep, "8"], resources: {requests: {cpu: 100m, memory: 64Mi}}}]' |
  "${k[@]}" apply -f - >/dev/null
wl_a=$(workload eval-a)
[ -n "$wl_a" ] || fail "no Workload for Job eval-a (is the Kueue controller manager running? log: ${out#$root/}/kueue.log)"
"${k[@]}" wait --for=condition=Admitted "workload/$wl_a" --timeout=60s >/dev/null || fail "Workload $wl_a not Admitted"
"${k[@]}" wait --for=jsonpath='{.spec.suspend}'=false job/eval-a --timeout=30s >/dev/null || fail "Job eval-a still suspended"
ok "Job eval-a admitted: Workload $wl_a QuotaReserved=$(cond "$wl_a" QuotaReserved status) ($(cond "$wl_a" QuotaReserved message)), Admitted=$(cond "$wl_a" Admitted status) ($(cond "$wl_a" Admitted message)); spec.suspend=false"

job eval-b 'containers: [{name: main, image: none, resources: {requests: {cpu: 100m, memory: 64Mi}}}]' | "${k[@]}" apply -f - >/dev/null
wl_b=$(workload eval-b)
[ -n "$wl_b" ] || fail "no Workload for Job eval-b"
"${k[@]}" wait --for=condition=QuotaReserved=false "workload/$wl_b" --timeout=30s >/dev/null || fail "Workload $wl_b: no QuotaReserved=False"
[ "$("${k[@]}" get job eval-a -o jsonpath='{.status.succeeded}')" != 1 ] || fail "eval-a completed before eval-b was seen waiting"
reason=$(cond "$wl_b" QuotaReserved reason); msg=$(cond "$wl_b" QuotaReserved message)
[ "$reason" = Pending ] && [[ "$msg" == *"insufficient unused quota for pods"* ]] || fail "Workload $wl_b QuotaReserved: $reason: $msg"
[ "$("${k[@]}" get job eval-b -o jsonpath='{.spec.suspend}')" = true ] || fail "Job eval-b not suspended while waiting"
ok "Job eval-b waits, suspended: Workload $wl_b QuotaReserved=False $reason: $msg"

"${k[@]}" wait --for=condition=Complete job/eval-a --timeout=60s >/dev/null || fail "Job eval-a not Complete"
"${k[@]}" wait --for=condition=Finished "workload/$wl_a" --timeout=30s >/dev/null || fail "Workload $wl_a not Finished"
ok "Job eval-a Complete (ran on local-exec); Workload Finished: $(cond "$wl_a" Finished reason): $(cond "$wl_a" Finished message)"
"${k[@]}" wait --for=condition=Admitted "workload/$wl_b" --timeout=60s >/dev/null || fail "Workload $wl_b not Admitted after eval-a finished"
"${k[@]}" wait --for=condition=Complete job/eval-b --timeout=60s >/dev/null || fail "Job eval-b not Complete"
ok "Job eval-b admitted once eval-a finished, and Complete (kwok)"
echo "dev cluster Kueue checks passed"
