#!/usr/bin/env bash
# Stops the dev cluster and removes every file it wrote: the local node agent
# (which stops its pods' processes first), any process group it left behind,
# the Kueue controller manager if one was started, the kwok cluster's
# processes, and _output/dev-cluster. Safe to run when
# nothing is up.
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ -f "$localnode_pid" ]; then
  pid=$(cat "$localnode_pid")
  if kill -0 "$pid" 2>/dev/null; then
    echo ">> stopping the local node agent (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "   still running after 15s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
fi
# The agent removes a pid file when its process ends; one left here belongs
# to a process group the agent did not get to stop (it was killed).
if [ -d "$localnode_dir/pids" ]; then
  for f in "$localnode_dir"/pids/*; do
    [ -f "$f" ] || continue
    pgid=$(cat "$f")
    if kill -0 -- "-$pgid" 2>/dev/null; then
      echo ">> killing leftover pod process group $pgid ($(basename "$f"))"
      kill -KILL -- "-$pgid" 2>/dev/null || true
    fi
  done
fi

# The Kueue controller manager (hack/dev-cluster/kueue/up.sh), if started.
if [ -f "$out/kueue.pid" ]; then
  pid=$(cat "$out/kueue.pid")
  if kill -0 "$pid" 2>/dev/null; then
    echo ">> stopping the Kueue controller manager (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
fi

if [ -x "$bin/kwokctl" ] && "$bin/kwokctl" get clusters 2>/dev/null | grep -qx "$cluster_name"; then
  echo ">> deleting cluster $cluster_name"
  "$bin/kwokctl" -v WARN delete cluster --name "$cluster_name" --kubeconfig "$kubeconfig"
fi
rm -rf "$out"
echo "dev cluster $cluster_name is down"
