#!/usr/bin/env bash
# Tears the demo down: the manager, the dev cluster (and its local node's
# processes), and every file the demo wrote under _output/ except the
# cached demo models.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$root/hack/demo/stop-manager.sh"
"$root/hack/dev-cluster/down.sh"
rm -rf "$demo_out"
echo "demo is down"
