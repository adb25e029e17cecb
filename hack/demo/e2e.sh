#!/usr/bin/env bash
# End-to-end test: runs the demo on a fresh dev cluster and asserts every
# outcome it promises, then tears everything down (also on failure).
set -euo pipefail
source "$(dirname "$0")/env.sh"
trap '"$root/hack/demo/down.sh" >/dev/null 2>&1 || true' EXIT

"$root/hack/demo/down.sh" >/dev/null 2>&1 || true
DEV_CLUSTER_KUEUE=1 "$root/hack/dev-cluster/up.sh" >/dev/null
"$root/hack/demo/demo.sh"

failures=0
check() { # check DESCRIPTION ACTUAL PATTERN (extended regex)
  if [[ "$2" =~ $3 ]]; then
    printf '  ok    %s\n' "$1"
  else
    printf '  FAIL  %s: got %q, want /%s/\n' "$1" "$2" "$3"
    failures=$((failures + 1))
  fi
}
get() { "${kubectl[@]}" get "$1" -n "$demo_ns" -o jsonpath="$2"; }

echo
echo "== assertions"
check "credit-fair: v1 is stable" "$(get rmodel/credit-fair '{.status.stableVersion}')" '^v1$'
check "credit-fair: v2 was rolled back" "$(get rmodel/credit-fair '{range .status.history[*]}{.version}={.action} {end}')" 'v2=RolledBack'
check "credit-fair: the rollback names the GPU shortage" "$(get rmodel/credit-fair '{range .status.history[*]}{.reason} {.message} {end}')" 'GPUUnschedulable|nvidia.com/gpu'
check "credit-fair: serving on the H100 node" "$(get pods '{range .items[?(@.metadata.labels.rai\.responsible-ai\.dev/model=="credit-fair")]}{.metadata.labels.rai\.responsible-ai\.dev/version}@{.spec.nodeName}:{.status.phase} {end}')" 'v1@gpu-h100-0:Running'
check "credit-fair: model card" "$(get rmodel/credit-fair '{.status.modelCardRef.name}')" '.+'
check "credit-biased: denied" "$(get rmodel/credit-biased '{.status.conditions[?(@.type=="PolicyAllowed")].status}')" '^False$'
check "credit-biased: the fairness violation is named" "$(get rmodel/credit-biased '{.status.lastDecision.violations[*].code}')" 'Fairness'
check "credit-biased: nothing serves" "$(get rmodel/credit-biased '{.status.stableVersion}')" '^$'
check "credit-overbudget: BudgetExhausted" "$(get rmodel/credit-overbudget '{.status.conditions[?(@.type=="PolicyAllowed")].reason} {.status.lastDecision.violations[*].code}')" 'BudgetExhausted'
check "credit-brittle: denied on robustness" "$(get rmodel/credit-brittle '{.status.lastDecision.violations[*].code}')" 'Robustness'
check "credit-local: v1 is stable" "$(get rmodel/credit-local '{.status.stableVersion}')" '^v1$'
check "lending-data: credit-fair v1 charged once" "$(get pbudget/lending-data '{range .status.charges[*]}{.model}/{.version} {end}' | tr ' ' '\n' | grep -c '^credit-fair/v1$')" '^1$'
out=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"features","shape":[1,9],"datatype":"FP32","data":[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74]}]}' \
  "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer" || true)
check "credit-local: a live inference answers" "$out" '"outputs"'

echo
echo "== language models"
check "support-intent: evaluated (fairness, robustness, explanations, counterfactual), allowed, v1 is stable" \
  "$(get rmodel/support-intent '{range .status.evaluations[*]}{.kind}={.state}{"\n"}{end}' | sort | tr '\n' ' ')$(get rmodel/support-intent '{.status.lastDecision.allowed} {.status.stableVersion}')" \
  '^counterfactual=Succeeded explain=Succeeded fairness=Succeeded robustness=Succeeded true v1$'
out=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["I was charged twice for my order","where is my parcel? it has not arrived"]}]}' \
  "http://127.0.0.1:$text_serving_port/v2/models/support-intent/infer" || true)
check "support-intent: a live text request is tokenized and answered with labels" "$out" '"name":"label".*"data":\["billing","delivery"\]'
out=$(curl -sS -H 'Content-Type: application/json' -w ' %{http_code}' \
  -d '{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":[""]}]}' \
  "http://127.0.0.1:$text_serving_port/v2/models/support-intent/infer" || true)
check "support-intent: an empty text gets a 400 that says so" "$out" 'empty.* 400$'
check "support-intent: the serving pod has the tokenizer it was judged with" \
  "$(get deployment/support-intent-serving '{.spec.template.spec.containers[0].args}')" "--tokenizer-sha256\",\"$(get rmodel/support-intent '{.status.stableTextModel.tokenizer.sha256}')\""
check "support-ner: denied on the entity F1 gap, the worst group named" \
  "$(get rmodel/support-ner '{.status.conditions[?(@.type=="PolicyAllowed")].status} {.status.lastDecision.violations[*].code} {.status.lastDecision.violations[*].message}')" \
  '^False .*FairnessEntityF1Gap.*entity_f1_gap 0\.2[0-9]* exceeds the maximum 0\.1.*nigerian'
check "support-ner: nothing serves" "$(get rmodel/support-ner '{.status.stableVersion}')" '^$'

# What GitOps tools see: kstatus (Flux health checks, kpt, cli-utils).
go build -o "$demo_out/kstatus" "$root/hack/demo/kstatus"
kst() { "$demo_out/kstatus" --kubeconfig "$kubeconfig" --namespace "$demo_ns" | awk -v m="$1" '$1 == m { $1 = ""; sub(/^ /, ""); print }'; }
check "kstatus: credit-local is Current" "$(kst credit-local)" '^Current'
check "kstatus: credit-biased is Failed, naming the violation" "$(kst credit-biased)" '^Failed .*Fairness'
check "kstatus: credit-overbudget is Failed" "$(kst credit-overbudget)" '^Failed .*BudgetExhausted'
check "kstatus: credit-brittle is Failed" "$(kst credit-brittle)" '^Failed .*Robustness'
check "kstatus: credit-fair (v2 rolled back) is Failed, v1 still serving" "$(kst credit-fair)" '^Failed .*v1 keeps serving'

code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -d '{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}' \
  "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer" || true)
check "credit-local: a bad request gets a 4xx" "$code" '^4[0-9][0-9]$'

echo
echo "== integrity: the namespace user swaps credit-local's artifact for the biased one, keeping version v1"
fair_sha=$(get rmodel/credit-local '{.status.stableModelSHA256}')
biased_uri=$(get rmodel/credit-biased '{.spec.model.uri}')
biased_sha=$(get rmodel/credit-biased '{.spec.model.sha256}')
"${kubectl[@]}" patch rmodel credit-local -n "$demo_ns" --type merge \
  -p "{\"spec\":{\"model\":{\"uri\":\"$biased_uri\",\"sha256\":\"$biased_sha\"}}}" >/dev/null
check "kstatus: the swapped candidate is InProgress while it is evaluated" "$(kst credit-local)" '^InProgress'
"${kubectl[@]}" wait rmodel/credit-local -n "$demo_ns" --for=jsonpath='{.status.lastDecision.modelSHA256}'="$biased_sha" --timeout=300s >/dev/null || true
check "swapped artifact: judged as a new candidate" "$(get rmodel/credit-local '{.status.candidateVersion}@{.status.candidateModelSHA256}')" "^v1@$biased_sha\$"
check "swapped artifact: denied on fairness" "$(get rmodel/credit-local '{.status.lastDecision.allowed} {.status.lastDecision.violations[*].code}')" '^false .*Fairness'
check "swapped artifact: the evaluated artifact still serves" "$(get rmodel/credit-local '{.status.stableModelSHA256}') $(get deployment/credit-local-serving '{.spec.template.spec.containers[0].args}')" "^$fair_sha .*$fair_sha"
out=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"features","shape":[1,9],"datatype":"FP32","data":[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74]}]}' \
  "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer" || true)
check "swapped artifact: credit-local keeps answering" "$out" '"outputs"'
check "kstatus: the denied swap is Failed" "$(kst credit-local)" '^Failed'


echo
echo "== separation of duties: the namespace user asks credit-biased for DryRun and a relaxed fairness floor"
"${kubectl[@]}" patch rmodel credit-biased -n "$demo_ns" --type merge \
  -p '{"spec":{"policy":{"enforcement":"DryRun","thresholds":{"demographic_parity_ratio_min":"0.5"}}}}' >/dev/null
"${kubectl[@]}" wait rmodel/credit-biased -n "$demo_ns" --for=jsonpath='{.status.lastDecision.requestedEnforcement}'=DryRun --timeout=120s >/dev/null || true
check "bypass: DryRun is not allowed, Enforce applies" "$(get rmodel/credit-biased '{.status.lastDecision.enforcement}/{.status.lastDecision.requestedEnforcement}')" '^Enforce/DryRun$'
check "bypass: the relaxed floor is not applied, still denied" "$(get rmodel/credit-biased '{.status.lastDecision.allowed} {.status.lastDecision.violations[*].message}')" '^false .*0.5 is looser: not applied'
check "bypass: the decision names the PromotionPolicy that judged" "$(get rmodel/credit-biased '{.status.lastDecision.promotionPolicies[*]}')" "^$demo_ns-platform\$"
check "bypass: nothing serves" "$(get rmodel/credit-biased '{.status.stableVersion}')" '^$'

echo
echo "== accountability: every model's decision chain verifies offline, against the heads in status"
"${kubectl[@]}" get decisionrecords -n "$demo_ns" -o json >"$demo_out/decisionrecords.json"
"${kubectl[@]}" get rmodel -n "$demo_ns" -o json >"$demo_out/models.json"
verify=$("$bin/rai" audit verify-decisions "$demo_out/decisionrecords.json" --models "$demo_out/models.json" 2>&1 || true)
check "decision chains: every model's verifies" "$(grep -c '^ok ' <<<"$verify")/$(grep -c '^FAIL' <<<"$verify")" '^8/0$'
check "decision chains: the credit-fair rollback is on the record" "$(grep "/credit-fair:" <<<"$verify")" '[1-9][0-9]* RolledBack'
sed '0,/"action": "RolledBack"/s//"action": "Promoted"/' "$demo_out/decisionrecords.json" >"$demo_out/decisionrecords-tampered.json"
verify=$("$bin/rai" audit verify-decisions "$demo_out/decisionrecords-tampered.json" --models "$demo_out/models.json" 2>&1 || true)
check "decision chains: a tampered record is named" "$(grep '^FAIL' <<<"$verify")" 'credit-fair: record credit-fair-.* was altered'
grep -q '"decision_id"' "$manager_log" && dl=present || dl=absent
check "decision log: OPA-compatible lines on the manager's stdout" "$dl" '^present$'

echo
echo "== accountability: credit-local's inference log is anchored in status and survives a restart of its server"
for _ in $(seq 1 30); do
  [ -n "$(get rmodel/credit-local '{.status.serving.auditHeads[0].hash}')" ] && break
  sleep 1
done
anchor_count=$(get rmodel/credit-local '{.status.serving.auditHeads[0].count}')
anchor_hash=$(get rmodel/credit-local '{.status.serving.auditHeads[0].hash}')
check "inference log: the operator anchors its head in status" "$anchor_count $anchor_hash" '^[1-9][0-9]* [0-9a-f]{64}$'
head_url="http://127.0.0.1:$local_serving_port/v2/audit/head"
before=$(curl -fsS "$head_url" || true)
pkill -f -- "--name credit-local" || true
for _ in $(seq 1 60); do
  sleep 1
  curl -fsS "http://127.0.0.1:$local_serving_port/v2/health/ready" >/dev/null 2>&1 && break
done
curl -fsS -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"features","shape":[1,9],"datatype":"FP32","data":[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74]}]}' \
  "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer" >/dev/null || true
after=$(curl -fsS "$head_url" || true)
genesis() { sed -n 's/.*"genesis":"\([0-9a-f]*\)".*/\1/p' <<<"$1"; }
count() { sed -n 's/.*"count":\([0-9]*\).*/\1/p' <<<"$1"; }
check "inference log: one chain across the restart (same genesis, one more entry)" \
  "$(genesis "$before")=$(genesis "$after") $(( $(count "$after" || echo 0) - $(count "$before" || echo 0) ))" '^([0-9a-f]{64})=\1 1$'
log_file=$(ls -t $(find "$localnode_dir" -name audit.jsonl 2>/dev/null) 2>/dev/null | head -1)
check "inference log: verifies against the operator's anchor" \
  "$("$bin/rai" audit verify "$log_file" --anchor-count "$anchor_count" --anchor-hash "$anchor_hash" 2>&1 | head -1)" '^ok'
head -n $(( anchor_count - 1 )) "$log_file" >"$demo_out/audit-cut.jsonl"
check "inference log: a log cut below the anchor fails" \
  "$("$bin/rai" audit verify "$demo_out/audit-cut.jsonl" --anchor-count "$anchor_count" --anchor-hash "$anchor_hash" 2>&1 | tail -3)" 'missing'

echo
echo "== the kubectl plugin"
plugin=("$bin/kubectl-rmodel" --kubeconfig "$kubeconfig" -n "$demo_ns")
check "kubectl rmodel why credit-biased: the violation and what would pass" "$("${plugin[@]}" why credit-biased 2>&1)" 'needs demographic_parity_ratio >= 0.8'
check "kubectl rmodel verify: every chain verifies" "$("${plugin[@]}" verify 2>&1 | grep -c '^ok')" '^8$'
check "approval: credit-reviewed waited for a person, then serves" "$(get rmodel/credit-reviewed '{.status.stableVersion} {.status.history[*].message}')" '^v1 .*approved by .*reviewed the fairness report'
check "approval: its ModelApproval names the approver and the decision" "$("${kubectl[@]}" get modelapprovals -n "$demo_ns" -o jsonpath='{range .items[*]}{.spec.model}/{.spec.decision}/{.spec.decisionID}{"\n"}{end}')" "^credit-reviewed/Approve/$(get rmodel/credit-reviewed '{.status.lastDecision.id}')\$"
rollback_out=$("${plugin[@]}" rollback credit-local --to-version v1 2>&1 || true)
check "kubectl rmodel rollback: credit-local's spec goes back to the artifact v1 was promoted with" \
  "$rollback_out $(get rmodel/credit-local '{.spec.model.sha256}')" "back to v1 .* $fair_sha\$"
"${kubectl[@]}" wait rmodel/credit-local -n "$demo_ns" --for=condition=Ready --timeout=120s >/dev/null || true
check "kubectl rmodel rollback: credit-local is Ready again, and Current" "$(get rmodel/credit-local '{.status.conditions[?(@.type=="Ready")].status}') $(kst credit-local)" '^True Current'

echo
echo "== live monitoring: credit-local's traffic against the summary of its evaluation data"
go build -o "$demo_out/traffic" "$root/hack/demo/traffic"
traffic=("$demo_out/traffic" --url "http://127.0.0.1:$local_serving_port" --model credit-local --data "$root/_output/demo/data/eval.csv")
check "monitoring: the reference summary is kept with credit-local's evidence" \
  "$(get rmodel/credit-local '{.status.stableEvidence[?(@.kind=="reference")].reportSHA256}')" '^[0-9a-f]{64}$'
"${traffic[@]}" --rows 1500 >/dev/null
for _ in $(seq 1 60); do
  rows=$(get rmodel/credit-local '{.status.monitoring.rows}')
  [ "${rows:-0}" -ge 1500 ] && break
  sleep 1
done
check "monitoring: traffic drawn from the evaluation data is read and stays Compliant" \
  "$(get rmodel/credit-local '{.status.monitoring.rows} {.status.monitoring.message}{.status.conditions[?(@.type=="Compliant")].status}')" '^1[5-9][0-9]{2} True$'
"${traffic[@]}" --rows 1500 --skip 1500 --shift region_score=3 >/dev/null
"${kubectl[@]}" wait rmodel/credit-local -n "$demo_ns" --for=jsonpath='{.status.conditions[?(@.type=="Compliant")].reason}'=DriftDetected --timeout=90s >/dev/null || true
check "monitoring: shifted traffic is drift, the feature and statistic named in Compliant" \
  "$(get rmodel/credit-local '{.status.conditions[?(@.type=="Compliant")].status} {.status.conditions[?(@.type=="Compliant")].message}')" '^False .*DriftPSI: monitoring: feature region_score drifted: PSI'
check "monitoring: the drift is on the record (a Flagged DecisionRecord), and credit-local keeps serving (action Record)" \
  "$("${kubectl[@]}" get decisionrecords -n "$demo_ns" -l rai.responsible-ai.dev/model=credit-local -o jsonpath='{range .items[*]}{.spec.action}/{.spec.reason}{"\n"}{end}' | grep -c '^Flagged/DriftDetected$') $(get rmodel/credit-local '{.status.stableVersion}')" '^[1-9][0-9]* v1$'

echo
echo "== model storage: credit-s3 reads its model and data from a real S3 server (SeaweedFS, s3://)"
s3_dir="$demo_out/seaweedfs"
mkdir -p "$s3_dir/data"
printf '{"identities":[{"name":"rai","credentials":[{"accessKey":"rai-demo","secretKey":"rai-demo-secret"}],"actions":["Admin","Read","Write","List"]}]}' >"$s3_dir/s3.json"
# Each bucket is a collection that grows 7 volumes, the filer's own log one
# more: 32 volume slots leave room.
setsid nohup "$bin/weed" server -dir="$s3_dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.port=19331 -master.port.grpc=29331 \
  -volume.port=19332 -volume.port.grpc=29332 -volume.max=32 -master.volumeSizeLimitMB=64 -filer -filer.port=19333 -filer.port.grpc=29333 \
  -s3 -s3.port=19334 -s3.port.grpc=29334 -s3.port.iceberg=19335 -s3.config="$s3_dir/s3.json" -metricsPort=19336 -iam=false \
  >"$s3_dir/weed.log" 2>&1 </dev/null &
weed_pid=$!
for _ in $(seq 1 90); do
  curl -fsS -o /dev/null -F file=@"$root/_output/demo/models/fair-dp.onnx" "http://127.0.0.1:19333/buckets/models/credit/fair-dp.onnx" 2>/dev/null && break
  sleep 1
done
curl -fsS -o /dev/null -F file=@"$root/_output/demo/data/eval.csv" "http://127.0.0.1:19333/buckets/datasets/credit/eval.csv" || true
eval_sha=$(get rmodel/credit-local '{.spec.evaluations.dataset.sha256}')
"${kubectl[@]}" apply -n "$demo_ns" -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: model-store}
stringData: {AWS_ACCESS_KEY_ID: rai-demo, AWS_SECRET_ACCESS_KEY: rai-demo-secret}
---
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata: {name: credit-s3}
spec:
  version: v1
  intendedUse: The fair demo model, stored in object storage.
  model: {uri: "s3://models/credit/fair-dp.onnx", sha256: "$fair_sha"}
  storage:
    s3: {endpoint: "http://127.0.0.1:19334", pathStyle: true, credentialsSecretRef: {name: model-store}}
  evaluations:
    dataset: {uri: "s3://datasets/credit/eval.csv", sha256: "$eval_sha", labelColumn: label, favorableLabel: "1"}
    fairness:
      sensitiveColumns: [sex, age_group]
      privileged: [{column: sex, value: male}]
    job: {activeDeadlineSeconds: 600, backoffLimit: 0}
  serving:
    replicas: 1
    port: 18502
    progressDeadlineSeconds: 120
    nodeSelector: {rai.responsible-ai.dev/local-exec: "true"}
    tolerations: [{key: rai.responsible-ai.dev/local-exec, operator: Exists, effect: NoSchedule}]
YAML
if ! "${kubectl[@]}" wait rmodel/credit-s3 -n "$demo_ns" --for=condition=Ready --timeout=300s >/dev/null; then
  "${kubectl[@]}" get pods -n "$demo_ns" -o wide -l rai.responsible-ai.dev/model=credit-s3 || true
  "${kubectl[@]}" get rmodel credit-s3 -n "$demo_ns" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\n"}{end}' || true
  for f in $(find "$localnode_dir" -path '*credit-s3-serving*' -name '*.log' 2>/dev/null); do echo "--- $f"; tail -5 "$f"; done
  grep -v 'volume grow\|failed to find writable\|topo failed\|Not enough data nodes\|metadata log write' "$s3_dir/weed.log" | tail -10 || true
fi
check "s3: credit-s3 was evaluated on the data set in S3 and promoted" \
  "$(get rmodel/credit-s3 '{.status.conditions[?(@.type=="Evaluated")].status} {.status.lastDecision.allowed} {.status.stableVersion}')" '^True true v1$'
out=$(curl -fsS -H 'Content-Type: application/json' \
  -d '{"inputs":[{"name":"features","shape":[1,9],"datatype":"FP32","data":[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74]}]}' \
  "http://127.0.0.1:18502/v2/models/credit-s3/infer" || true)
check "s3: credit-s3 serves the model it read from S3" "$out" '"outputs"'
kill "$weed_pid" 2>/dev/null || true

echo
echo "== GPUs: a MIG slice, a DRA claim, and evaluations queued in Kueue"
fair_uri=$(get rmodel/credit-local '{.spec.model.uri}')
eval_uri=$(get rmodel/credit-local '{.spec.evaluations.dataset.uri}')
gpu_model() { # gpu_model NAME GPU-YAML [JOB-YAML]
  cat <<YAML
---
apiVersion: rai.responsible-ai.dev/v1alpha1
kind: ResponsibleModel
metadata: {name: $1}
spec:
  version: v1
  model: {uri: "$fair_uri", sha256: "$fair_sha"}
  evaluations:
    dataset: {uri: "$eval_uri", sha256: "$eval_sha", labelColumn: label, favorableLabel: "1"}
    fairness:
      sensitiveColumns: [sex, age_group]
      privileged: [{column: sex, value: male}]
    job: {activeDeadlineSeconds: 600, backoffLimit: 0${3:+, $3}}
  serving:
    replicas: 1
    progressDeadlineSeconds: 60
    gpu: $2
YAML
}
# Kueue: the ClusterQueue "evaluation" admits nothing until its pod quota
# is raised, so the queued model's Job is seen waiting.
"${kubectl[@]}" patch clusterqueue evaluation --type json -p '[{"op":"replace","path":"/spec/resourceGroups/0/flavors/0/resources/2/nominalQuota","value":"0"}]' >/dev/null
"${kubectl[@]}" apply -n "$demo_ns" -f "$root/hack/dev-cluster/kueue/localqueue.yaml" >/dev/null
{
  gpu_model credit-mig '{migProfile: 1g.10gb}'
  gpu_model credit-dra '{count: 1, deviceClassName: gpu.nvidia.com, selectors: ["device.attributes[\"gpu.nvidia.com\"].productName == \"NVIDIA H100 80GB HBM3\""]}'
  gpu_model credit-queued '{count: 1}' 'queueName: evaluation'
} | "${kubectl[@]}" apply -n "$demo_ns" -f - >/dev/null
"${kubectl[@]}" wait rmodel/credit-queued -n "$demo_ns" --for=jsonpath='{.status.conditions[?(@.type=="Evaluated")].reason}'=EvaluationsQueued --timeout=120s >/dev/null || true
check "kueue: credit-queued's evaluation waits in the queue (EvaluationsQueued)" \
  "$(get rmodel/credit-queued '{.status.conditions[?(@.type=="Evaluated")].reason} {.status.conditions[?(@.type=="Evaluated")].message}')" '^EvaluationsQueued .*LocalQueue evaluation'
job_uid=$("${kubectl[@]}" get jobs -n "$demo_ns" -l rai.responsible-ai.dev/model=credit-queued -o jsonpath='{.items[0].metadata.uid}')
for _ in $(seq 1 30); do
  [ -n "$("${kubectl[@]}" get workloads.kueue.x-k8s.io -n "$demo_ns" -l kueue.x-k8s.io/job-uid="$job_uid" -o name 2>/dev/null)" ] && break
  sleep 1
done
check "kueue: its Workload has no quota reserved, Kueue says why" \
  "$("${kubectl[@]}" get workloads.kueue.x-k8s.io -n "$demo_ns" -l kueue.x-k8s.io/job-uid="$job_uid" -o jsonpath='{.items[0].status.conditions[?(@.type=="QuotaReserved")].status} {.items[0].status.conditions[?(@.type=="QuotaReserved")].message}')" \
  '^False .*insufficient'
"${kubectl[@]}" patch clusterqueue evaluation --type json -p '[{"op":"replace","path":"/spec/resourceGroups/0/flavors/0/resources/2/nominalQuota","value":"1"}]' >/dev/null
for m in credit-mig credit-dra credit-queued; do
  "${kubectl[@]}" wait rmodel/$m -n "$demo_ns" --for=jsonpath='{.status.stableVersion}'=v1 --timeout=300s >/dev/null || true
done
check "kueue: with quota the Workload is admitted, the evaluation runs and credit-queued is promoted" \
  "$("${kubectl[@]}" get workloads.kueue.x-k8s.io -n "$demo_ns" -l kueue.x-k8s.io/job-uid="$job_uid" -o jsonpath='{.items[0].status.conditions[?(@.type=="Admitted")].status}') $(get rmodel/credit-queued '{.status.evaluations[0].state} {.status.stableVersion}')" '^True Succeeded v1$'
pods_of() { get pods "{range .items[?(@.metadata.labels.rai\.responsible-ai\.dev/model==\"$1\")]}{.spec.nodeName}:{.status.phase} {end}"; }
check "mig: credit-mig serves on a 1g.10gb MIG slice of the A100 node" \
  "$(pods_of credit-mig) $(get deployment/credit-mig-serving '{.spec.template.spec.containers[0].resources.limits}')" 'gpu-a100-mig-0:Running .*nvidia.com/mig-1g.10gb'
claim=$(get pods "{range .items[?(@.metadata.labels.rai\.responsible-ai\.dev/model==\"credit-dra\")]}{.status.resourceClaimStatuses[0].resourceClaimName}{end}")
check "dra: credit-dra's pod runs on the H100 node with a device the scheduler allocated from its ResourceSlice" \
  "$(pods_of credit-dra) $("${kubectl[@]}" get resourceclaim "${claim:-none}" -n "$demo_ns" -o jsonpath='{.status.allocation.devices.results[0].driver}/{.status.allocation.devices.results[0].pool}/{.status.allocation.devices.results[0].device}' 2>/dev/null)" \
  'gpu-h100-0:Running .*gpu.nvidia.com/gpu-h100-0/gpu-[0-9]$'
# A claim no device satisfies: the pod cannot be scheduled, and the model says so.
"${kubectl[@]}" patch rmodel credit-dra -n "$demo_ns" --type merge -p '{"spec":{"version":"v2","serving":{"gpu":{"selectors":["device.attributes[\"gpu.nvidia.com\"].productName == \"NVIDIA B300\""]}}}}' >/dev/null
"${kubectl[@]}" wait rmodel/credit-dra -n "$demo_ns" --for=jsonpath='{.status.conditions[?(@.type=="Promoted")].reason}'=GPUUnschedulable --timeout=180s >/dev/null || true
check "dra: a claim no device satisfies is GPUUnschedulable with the scheduler's message; v1 keeps serving" \
  "$(get rmodel/credit-dra '{.status.conditions[?(@.type=="Promoted")].reason} {.status.conditions[?(@.type=="Promoted")].message} {.status.stableVersion}')" '^GPUUnschedulable .*cannot allocate all claims.* v1$'

if [ "$failures" -gt 0 ]; then
  echo "e2e: $failures assertion(s) failed; manager log tail:"
  tail -40 "$manager_log" || true
  exit 1
fi
echo "e2e: every outcome as promised"
