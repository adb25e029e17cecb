#!/usr/bin/env bash
# Installs what the image builds and tests need on a Debian machine, and
# configures podman for these sandboxes. Idempotent: installed packages and
# an existing configuration are kept.
#
#   podman      builds and runs the images (rootful)
#   runc        podman's runtime here: crun fails on hybrid cgroups
#   mmdebstrap  builds the local stand-in base images from Debian packages
#
# /etc/containers/containers.conf is written only when it does not exist:
#   [containers] default_ulimits: podman's defaults exceed the hard limits
#                here, and containers would not start;
#   [engine] runtime = "runc".
set -euo pipefail

need=()
for pkg in podman runc mmdebstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "need root to install: ${need[*]}" >&2
    exit 1
  fi
  echo ">> installing ${need[*]} (apt)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    uidmap slirp4netns fuse-overlayfs containernetworking-plugins >/dev/null
fi

conf=/etc/containers/containers.conf
if [ ! -e "$conf" ]; then
  mkdir -p /etc/containers
  cat >"$conf" <<'CONF'
# Written by hack/images/setup-podman.sh.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
  echo ">> wrote $conf" >&2
elif ! grep -q 'runtime *= *"runc"' "$conf"; then
  echo "note: $conf exists and does not choose runc; left as it is" >&2
fi
