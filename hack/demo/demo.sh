#!/usr/bin/env bash
# The demo: a local cluster with fake GPU nodes (kwok) and a local execution
# node, the operator, and five ResponsibleModels whose verdicts differ:
#   credit-fair        fair, DP, robust       -> promoted onto an H100
#   credit-biased      learned the bias        -> PolicyDenied (fairness)
#   credit-overbudget  epsilon ~27 > budget    -> BudgetExhausted
#   credit-brittle     flips under noise       -> PolicyDenied (robustness)
#   credit-local       fair, served on CPU on the local node -> live inference
#   support-intent     a text classifier (intents), fair and robust -> promoted,
#                      answers text on the local node
#   support-ner        an NER model that misses one group's names -> denied
# then credit-fair v2 asks for 16 GPUs -> GPUUnschedulable, rolled back to v1.
#
# Run by `make demo` (which builds what it needs first). A running cluster
# is reused; the demo namespace is recreated each run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mkdir -p "$demo_out"
start=$(date +%s)

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "CRDs"
"${kubectl[@]}" apply -k "$root/config/crd" >/dev/null
"${kubectl[@]}" wait --for=condition=Established crd/responsiblemodels.rai.responsible-ai.dev crd/privacybudgets.rai.responsible-ai.dev crd/promotionpolicies.rai.responsible-ai.dev --timeout=60s >/dev/null

say "the operator (bin/manager, log: ${manager_log#$root/})"
"$root/hack/demo/stop-manager.sh"
setsid nohup "$bin/manager" \
  --kubeconfig "$kubeconfig" \
  --leader-elect=false \
  --metrics-bind-address ":$manager_metrics_port" \
  --health-probe-bind-address ":$manager_probe_port" \
  --evaluation-node-selector rai.responsible-ai.dev/local-exec=true \
  --evaluation-toleration rai.responsible-ai.dev/local-exec:NoSchedule \
  --rollout-poll-interval 3s \
  --audit-anchor-interval 5s \
  >"$manager_log" 2>&1 </dev/null &
echo $! >"$manager_pid"
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$manager_probe_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$manager_pid")" 2>/dev/null || { echo "the manager exited:" >&2; tail -20 "$manager_log" >&2; exit 1; }
  sleep 1
done

say "the demo namespace $demo_ns (recreated)"
if "${kubectl[@]}" get namespace "$demo_ns" >/dev/null 2>&1; then
  "${kubectl[@]}" delete namespace "$demo_ns" --wait=true --timeout=120s >/dev/null
fi
go run "$root/hack/demo/render" --models "$models_json" --namespace "$demo_ns" >"$demo_out/demo.yaml"
"${kubectl[@]}" apply -f "$demo_out/demo.yaml"

models=(credit-fair credit-biased credit-overbudget credit-brittle credit-local support-intent support-ner)
say "waiting for every model's verdict (evaluation Jobs run as local processes)"
"$root/hack/demo/wait.sh" verdict "${models[@]}"

say "credit-fair v2 asks for 16 GPUs on an 8-GPU node"
go run "$root/hack/demo/render" --models "$models_json" --namespace "$demo_ns" --upgrade >"$demo_out/upgrade.yaml"
"${kubectl[@]}" apply -f "$demo_out/upgrade.yaml"
"$root/hack/demo/wait.sh" rolledback credit-fair

say "credit-reviewed: a PromotionPolicy requires a person to approve each allowed version"
go run "$root/hack/demo/render" --models "$models_json" --namespace "$demo_ns" --review >"$demo_out/review.yaml"
"${kubectl[@]}" apply -f "$demo_out/review.yaml"
"${kubectl[@]}" wait rmodel/credit-reviewed -n "$demo_ns" --timeout=300s \
  --for=jsonpath='{.status.conditions[?(@.type=="Promoted")].reason}'=AwaitingApproval >/dev/null
"${kubectl[@]}" get rmodel credit-reviewed -n "$demo_ns" -o jsonpath='  Promoted: {.status.conditions[?(@.type=="Promoted")].reason}: {.status.conditions[?(@.type=="Promoted")].message}{"\n"}'
echo '$ kubectl rmodel approve credit-reviewed --reason "reviewed the fairness report and the model card"'
"$bin/kubectl-rmodel" --kubeconfig "$kubeconfig" -n "$demo_ns" approve credit-reviewed --reason "reviewed the fairness report and the model card"
"${kubectl[@]}" wait rmodel/credit-reviewed -n "$demo_ns" --for=jsonpath='{.status.stableVersion}'=v1 --timeout=300s >/dev/null

say "kubectl get rmodel,pbudget -n $demo_ns"
"${kubectl[@]}" get rmodel,pbudget -n "$demo_ns"

for m in "${models[@]}"; do
  say "$m"
  "${kubectl[@]}" get rmodel "$m" -n "$demo_ns" -o go-template='{{range .status.conditions}}{{printf "  %-14s %-8s %-26s %s\n" .type .status .reason .message}}{{end}}{{with .status.lastDecision}}  decision {{.id}} (policy {{.policyDigest}}): allowed={{.allowed}}
{{range .violations}}    - {{.code}}: {{.message}}
{{end}}{{end}}'
done

say "kubectl rmodel why credit-biased (the kubectl plugin, bin/kubectl-rmodel)"
"$bin/kubectl-rmodel" --kubeconfig "$kubeconfig" why credit-biased -n "$demo_ns" | sed -n '1,/^Thresholds applied/p' | sed '$d'

say "where credit-fair serves"
"${kubectl[@]}" get pods -n "$demo_ns" -l rai.responsible-ai.dev/model=credit-fair -o wide

say "model card of credit-fair (ConfigMap $("${kubectl[@]}" get rmodel credit-fair -n "$demo_ns" -o jsonpath='{.status.modelCardRef.name}'))"
card=$("${kubectl[@]}" get rmodel credit-fair -n "$demo_ns" -o jsonpath='{.status.modelCardRef.name}')
"${kubectl[@]}" get configmap "$card" -n "$demo_ns" -o jsonpath='{.data.model-card\.md}' | head -40

say "a live inference: credit-local on the local node"
"$root/hack/demo/wait.sh" serving credit-local
request='{"id":"demo-1","inputs":[{"name":"features","shape":[2,9],"datatype":"FP32","data":[[0.61,0.52,-0.09,2,0.54,1,0,0,-0.74],[-1.2,1.4,-1.5,4,1.1,0,0,1,0.3]]}]}'
echo "POST /v2/models/credit-local/infer $request"
curl -fsS -H 'Content-Type: application/json' -d "$request" "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer"
echo
echo "and a bad request (wrong shape), refused with a 4xx that names the problem:"
curl -sS -H 'Content-Type: application/json' -d '{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}' \
  -w ' (HTTP %{http_code})\n' "http://127.0.0.1:$local_serving_port/v2/models/credit-local/infer"

say "language models: support-intent answers customer messages on the local node"
"$root/hack/demo/wait.sh" serving support-intent
request='{"id":"demo-2","inputs":[{"name":"text","shape":[2],"datatype":"BYTES","data":["I was charged twice for my order","where is my parcel? it has not arrived"]}]}'
echo "POST /v2/models/support-intent/infer $request"
curl -fsS -H 'Content-Type: application/json' -d "$request" "http://127.0.0.1:$text_serving_port/v2/models/support-intent/infer"
echo
echo "and support-ner, denied: kubectl rmodel why support-ner"
"$bin/kubectl-rmodel" --kubeconfig "$kubeconfig" why support-ner -n "$demo_ns" | sed -n '1,/^Thresholds applied/p' | sed '$d'

say "done in $(( $(date +%s) - start ))s"
cat <<MSG
Explore:  export KUBECONFIG=${kubeconfig#$root/}
          kubectl describe rmodel credit-biased -n $demo_ns
          kubectl get events -n $demo_ns --sort-by=.lastTimestamp
Tear down: make demo-down
MSG
