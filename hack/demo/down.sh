#!/usr/bin/env bash
# Tears the demo down: the manager, the dev cluster (and its local node's
# processes), and every file the demo wrote under _output/ except the
# cached demo models.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$root/hack/demo/stop-manager.sh"
"$root/hack/dev-cluster/down.sh"
# The e2e's S3 server (SeaweedFS), if it still runs.
pkill -f -- "-dir=$demo_out/seaweedfs/data" 2>/dev/null || true
rm -rf "$demo_out"
echo "demo is down"
