#!/usr/bin/env bash
# Stops the demo's manager process, if it runs.
set -euo pipefail
source "$(dirname "$0")/env.sh"
if [ -f "$manager_pid" ]; then
  pid=$(cat "$manager_pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$manager_pid"
fi
