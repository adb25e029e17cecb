#!/usr/bin/env bash
# Waits for the demo's models:
#   wait.sh verdict M...   each model's spec.version was promoted or denied,
#                          or an evaluation ended in Error
#   wait.sh rolledback M   M's candidate was rolled back
#   wait.sh serving M      M's local serving pod answers /v2/health/ready
# Prints the models every 20s while it waits; fails after WAIT_TIMEOUT
# seconds (default 900) with the manager's last log lines.
set -euo pipefail
source "$(dirname "$0")/env.sh"
mode=$1
shift
timeout=${WAIT_TIMEOUT:-900}
deadline=$(( $(date +%s) + timeout ))

field() { "${kubectl[@]}" get rmodel "$1" -n "$demo_ns" -o jsonpath="$2" 2>/dev/null || true; }

done_one() {
  local m=$1 version
  case "$mode" in
  verdict)
    version=$(field "$m" '{.spec.version}')
    [ "$(field "$m" '{.status.stableVersion}')" = "$version" ] && return 0
    [ "$(field "$m" '{.status.lastDecision.version}')" = "$version" ] &&
      [ "$(field "$m" '{.status.conditions[?(@.type=="PolicyAllowed")].status}')" = "False" ] && return 0
    [ "$(field "$m" '{.status.conditions[?(@.type=="Evaluated")].reason}')" = "EvaluationFailed" ] && return 0
    return 1 ;;
  rolledback)
    field "$m" '{.status.history[*].action}' | grep -qw RolledBack ;;
  serving)
    local port=$local_serving_port
    [ "$m" = support-intent ] && port=$text_serving_port
    curl -fsS "http://127.0.0.1:$port/v2/health/ready" >/dev/null 2>&1 ;;
  *) echo "wait.sh: unknown mode $mode" >&2; exit 2 ;;
  esac
}

last_print=0
while :; do
  pending=()
  for m in "$@"; do done_one "$m" || pending+=("$m")
  done
  [ ${#pending[@]} -eq 0 ] && exit 0
  now=$(date +%s)
  if [ "$now" -ge "$deadline" ]; then
    echo "timed out after ${timeout}s waiting ($mode) for: ${pending[*]}" >&2
    "${kubectl[@]}" get rmodel,jobs,pods -n "$demo_ns" -o wide >&2 || true
    echo "--- manager log (last 30 lines)" >&2
    tail -30 "$manager_log" >&2 || true
    exit 1
  fi
  if [ $(( now - last_print )) -ge 20 ]; then
    echo "   waiting ($mode) for ${pending[*]}"
    "${kubectl[@]}" get rmodel -n "$demo_ns" 2>/dev/null | sed 's/^/   /' || true
    last_print=$now
  fi
  sleep 2
done
