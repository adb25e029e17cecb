#!/usr/bin/env bash
# Adds Kueue to a running dev cluster: its CRDs, and its controller manager
# (bin/kueue, `make kueue`) run out of cluster as a local process against the
# kwok apiserver, then the ClusterQueue of queues.yaml. Idempotent: a
# running manager is kept. hack/dev-cluster/up.sh runs it when
# DEV_CLUSTER_KUEUE=1; hack/dev-cluster/down.sh stops the manager.
#
# Webhooks: the apiserver cannot reach a webhook served by a local process
# through a Service, so no Validating/MutatingWebhookConfiguration is
# installed. Kueue's Job integration works without them as long as a queued
# Job is created suspended (spec.suspend: true) with its queue-name label:
# the mutating webhook would only have set spec.suspend. Kueue's internal
# certificate management stays on (the manager exits without it, wanting
# metrics certificates under /etc/kueue); it writes its webhook serving
# certificate under the cluster's directory and injects its CA into the CRDs'
# conversion webhook settings, which this script adds for it. Use the stored
# version, kueue.x-k8s.io/v1beta2: a v1beta1 request would need that
# conversion webhook, which the apiserver cannot reach.
#
# Environment: KUEUE_HEALTH_PORT (default 18083) and KUEUE_WEBHOOK_PORT
# (default 19443), both on 127.0.0.1; give a second cluster other ports.
set -euo pipefail
source "$(dirname "$0")/../env.sh"
kueue_dir="$out/kueue"
kueue_pid="$out/kueue.pid"
kueue_log="$out/kueue.log"
health_port="${KUEUE_HEALTH_PORT:-18083}"
webhook_port="${KUEUE_WEBHOOK_PORT:-19443}"

[ -x "$bin/kueue" ] && [ -d "$bin/kueue-crds" ] || { echo "missing $bin/kueue or $bin/kueue-crds: run 'make kueue'" >&2; exit 1; }
mkdir -p "$kueue_dir"

# Kueue parses the server's version and exits on an unstamped build's
# "v0.0.0-master+$Format:%H$".
server_version=$("${kubectl[@]}" get --raw /version | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
if ! [[ "$server_version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
  echo "the kube-apiserver reports version '$server_version', which Kueue cannot parse: build it with" >&2
  echo "  -ldflags '-X k8s.io/component-base/version.gitVersion=v1.37.2 -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37'" >&2
  exit 1
fi

echo ">> Kueue: CRDs (kueue.x-k8s.io), namespace kueue-system"
"${kubectl[@]}" create namespace kueue-system --dry-run=client -o yaml | "${kubectl[@]}" apply -f - >/dev/null
# The certificate rotator fills this Secret in; it must exist.
"${kubectl[@]}" -n kueue-system get secret kueue-webhook-server-cert >/dev/null 2>&1 ||
  "${kubectl[@]}" -n kueue-system create secret generic kueue-webhook-server-cert >/dev/null
# Server-side: the Workload CRD is too large for client-side apply's annotation.
"${kubectl[@]}" apply --server-side --force-conflicts --field-manager=dev-cluster -f "$bin/kueue-crds" >/dev/null
for crd in localqueues clusterqueues workloads cohorts multikueueclusters; do
  "${kubectl[@]}" patch crd "$crd.kueue.x-k8s.io" --type merge -p '{"spec":{"conversion":{"strategy":"Webhook","webhook":{"conversionReviewVersions":["v1"],"clientConfig":{"service":{"namespace":"kueue-system","name":"kueue-webhook-service","path":"/convert"}}}}}}' >/dev/null
done
"${kubectl[@]}" wait --for=condition=Established --timeout=60s \
  crd/resourceflavors.kueue.x-k8s.io crd/clusterqueues.kueue.x-k8s.io crd/localqueues.kueue.x-k8s.io crd/workloads.kueue.x-k8s.io >/dev/null

# In a cluster the kubelet mounts that Secret into the manager's certDir, and
# the rotator waits for the files there; write them here instead.
sync_certs() {
  local f data
  mkdir -p "$kueue_dir/certs"
  for f in tls.crt tls.key ca.crt; do
    data=$("${kubectl[@]}" -n kueue-system get secret kueue-webhook-server-cert -o jsonpath="{.data.${f//./\\.}}")
    [ -n "$data" ] || return 1
    base64 -d <<<"$data" >"$kueue_dir/certs/$f.tmp" && mv "$kueue_dir/certs/$f.tmp" "$kueue_dir/certs/$f"
  done
}

if [ -f "$kueue_pid" ] && kill -0 "$(cat "$kueue_pid")" 2>/dev/null; then
  echo ">> Kueue controller manager already running (pid $(cat "$kueue_pid"))"
else
  cat >"$kueue_dir/config.yaml" <<YAML
apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: kueue-system
leaderElection:
  leaderElect: false
health:
  healthProbeBindAddress: 127.0.0.1:$health_port
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: $webhook_port
  certDir: $kueue_dir/certs
internalCertManagement:
  enable: true
manageJobsWithoutQueueName: false
integrations:
  frameworks: [batch/job]
featureGates:
  # Its extension API server would want a port and an APIService.
  VisibilityOnDemand: false
YAML
  echo ">> starting the Kueue controller manager (log: ${kueue_log#$root/})"
  setsid nohup "$bin/kueue" --config "$kueue_dir/config.yaml" --kubeconfig "$kubeconfig" \
    >"$kueue_log" 2>&1 </dev/null &
  echo $! >"$kueue_pid"
fi

for _ in $(seq 1 90); do
  [ -s "$kueue_dir/certs/tls.key" ] || sync_certs || true
  curl -fsS "http://127.0.0.1:$health_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$kueue_pid")" 2>/dev/null || { echo "the Kueue controller manager exited; its log:" >&2; tail -20 "$kueue_log" >&2; exit 1; }
  sleep 1
done
if ! curl -fsS "http://127.0.0.1:$health_port/readyz" >/dev/null; then
  echo "Kueue not ready after 90s; stopping it. Its log:" >&2; tail -20 "$kueue_log" >&2
  kill -KILL "$(cat "$kueue_pid")" 2>/dev/null || true
  exit 1
fi

echo ">> Kueue: ResourceFlavor default-flavor, ClusterQueue evaluation (one pod at a time)"
"${kubectl[@]}" apply -f "$root/hack/dev-cluster/kueue/queues.yaml" >/dev/null
