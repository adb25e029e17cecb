# Shared settings of the demo scripts; sourced, not run. Everything the demo
# writes lives under _output/ (ignored by git).
source "$(dirname "${BASH_SOURCE[0]}")/../dev-cluster/env.sh"
demo_ns="${DEMO_NAMESPACE:-rai-demo}"
demo_out="$root/_output/demo-run"
manager_pid="$demo_out/manager.pid"
manager_log="$demo_out/manager.log"
models_json="$root/_output/demo/models.json"
# Ports of the demo manager on this machine (8080 is the local serving pod's
# neighbourhood; keep clear of it).
manager_metrics_port="${MANAGER_METRICS_PORT:-18080}"
manager_probe_port="${MANAGER_PROBE_PORT:-18081}"
local_serving_port=18501
# support-intent, the demo's text classifier, serves on the local node here.
text_serving_port=18503
