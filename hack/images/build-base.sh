#!/usr/bin/env bash
# Builds a local stand-in for a distroless base image from Debian packages,
# for machines that cannot pull base images (CI here). The stand-ins have
# what the images need from their upstream bases, and nothing to run:
#
#   static  stands in for distroless/static:nonroot: /etc/passwd and
#           /etc/group with nonroot (65532), /home/nonroot, /tmp, the CA
#           bundle, tzdata, netbase (/etc/services, /etc/protocols).
#   cc      stands in for distroless/cc-debian12:nonroot: static, plus
#           libc6, libgcc-s1 and libstdc++6 (Debian 12, as upstream).
#
#   hack/images/build-base.sh static|cc IMAGE
#
# mmdebstrap resolves and downloads the packages from the configured apt
# sources (Debian 12); only the listed packages are unpacked into the image
# (their maintainer scripts do not run, so the CA bundle is assembled here
# as update-ca-certificates would). Cached: an IMAGE already built by this
# version of the script is kept (label rai.standin.recipe).
set -euo pipefail

kind="${1:-}"
image="${2:-}"
suite="${STANDIN_SUITE:-bookworm}"

data_pkgs=(base-files netbase tzdata ca-certificates)
case "$kind" in
static) pkgs=("${data_pkgs[@]}") ;;
cc) pkgs=("${data_pkgs[@]}" libc6 libgcc-s1 libstdc++6) ;;
*)
  echo "usage: $0 static|cc IMAGE" >&2
  exit 2
  ;;
esac
[ -n "$image" ] || { echo "usage: $0 static|cc IMAGE" >&2; exit 2; }

recipe="$(cat "$0" | sha256sum | cut -c1-16)-$kind-$suite"
if [ "$(podman image inspect --format '{{index .Labels "rai.standin.recipe"}}' "$image" 2>/dev/null)" = "$recipe" ]; then
  echo ">> $image is up to date (stand-in $kind, recipe $recipe)" >&2
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo ">> building stand-in base $image ($kind: ${pkgs[*]} from Debian $suite)" >&2

# extract: unpack only, run nothing. The downloaded .deb files are kept
# (download/empty, cleanup/apt/cache) so that only the wanted packages are
# unpacked below, not their dependencies (debconf, perl, openssl).
pkglist="$(IFS=,; echo "${pkgs[*]}")"
mmdebstrap --quiet --variant=extract --include="$pkglist" \
  --skip=download/empty --skip=cleanup/apt/cache \
  "$suite" "$work/debootstrap" >&2

root="$work/root"
mkdir -p "$root"
for p in "${pkgs[@]}"; do
  deb=("$work/debootstrap/var/cache/apt/archives/${p}_"*.deb)
  [ -f "${deb[0]}" ] || { echo "no .deb downloaded for $p" >&2; exit 1; }
  dpkg-deb -x "${deb[0]}" "$root"
done

# What update-ca-certificates does with the default configuration: every
# Mozilla certificate, in one PEM bundle.
mkdir -p "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates" -name '*.crt' -print0 | sort -z | xargs -0 cat >"$root/etc/ssl/certs/ca-certificates.crt"
test -s "$root/etc/ssl/certs/ca-certificates.crt"

# Scripts and documentation have nothing to run them here.
rm -rf "$root"/usr/sbin "$root"/usr/bin "$root"/sbin "$root"/bin \
  "$root"/usr/share/{doc,man,info,lintian,locale,bash-completion,ca-certificates,common-licenses,gcc,gdb} \
  "$root"/etc/update-motd.d "$root"/etc/ca-certificates "$root"/etc/default

ln -sf ../usr/lib/os-release "$root/etc/os-release"
cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
EOF
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
mkdir -p "$root/tmp" "$root/root" "$root/home/nonroot"
chmod 1777 "$root/tmp"
chmod 700 "$root/root" "$root/home/nonroot"
chown 65532:65532 "$root/home/nonroot"

tar --numeric-owner -C "$root" -cf "$work/root.tar" .
podman import \
  --change 'USER 65532:65532' \
  --change 'WORKDIR /home/nonroot' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  --change "LABEL rai.standin.recipe=$recipe" \
  --change "LABEL rai.standin.packages=${pkglist}" \
  --quiet --message "stand-in for distroless $kind, from Debian $suite packages" \
  "$work/root.tar" "$image" >/dev/null
echo ">> built $image ($(du -sh "$root" | cut -f1) unpacked)" >&2
