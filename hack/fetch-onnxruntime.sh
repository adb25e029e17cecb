#!/usr/bin/env bash
# Fetch onnxruntime 1.29.0 shared libraries from the npm registry (with `npm pack`), check each
# against a pinned sha256 and place them in DEST (default bin/onnxruntime).
#
#   hack/fetch-onnxruntime.sh core [DEST]   libonnxruntime.so.1 (CPU; loads CUDA providers beside it)
#   hack/fetch-onnxruntime.sh cuda [DEST]   + libonnxruntime_providers_{cuda,shared}.so (CUDA 13)
#
# A file already in DEST with the pinned digest is kept: nothing is downloaded. A download whose
# digest differs is refused and nothing is written to DEST.
set -euo pipefail

ORT_NODE_PACKAGE="onnxruntime-node@1.29.0"
ORT_CORE_PATH="package/bin/napi-v6/linux/x64/libonnxruntime.so.1"
ORT_CORE_SHA256="89688f5cf51c7e31befbb7b9101bc027799009b18d1baa9a5b1146a72e69538d"

ORT_GPU_PACKAGE="com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9"
ORT_GPU_DIR="package/Plugins/Linux/x64"
ORT_CUDA_SHA256="56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037"
ORT_SHARED_SHA256="c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772"

what="${1:-core}"
dest="${2:-bin/onnxruntime}"

case "$what" in
core | cuda) ;;
*)
	echo "usage: $0 core|cuda [DEST]" >&2
	exit 2
	;;
esac

# matches FILE SHA256: true when FILE exists with that digest.
matches() {
	[[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

# fetch PACKAGE then pairs of (PATH-IN-TARBALL SHA256): packs PACKAGE once, checks every listed
# file and moves each into $dest under its base name.
fetch() {
	local pkg="$1"
	shift
	local tmp
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' RETURN
	echo "fetching $pkg with npm pack" >&2
	(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
	local tgz
	tgz="$(ls "$tmp"/*.tgz)"
	local paths=()
	local i
	for ((i = 1; i <= $#; i += 2)); do paths+=("${!i}"); done
	tar --no-same-owner -xzf "$tgz" -C "$tmp" "${paths[@]}"
	mkdir -p "$dest"
	while (($#)); do
		local path="$1" want="$2"
		shift 2
		local got
		got="$(sha256sum "$tmp/$path" | cut -d' ' -f1)"
		if [[ "$got" != "$want" ]]; then
			echo "sha256 mismatch for $path from $pkg: got $got, want $want; refusing it" >&2
			return 1
		fi
		local name
		name="$(basename "$path")"
		mv -f "$tmp/$path" "$dest/.$name.tmp"
		mv -f "$dest/.$name.tmp" "$dest/$name"
		echo "placed $dest/$name (sha256 $want)" >&2
	done
}

if ! matches "$dest/libonnxruntime.so.1" "$ORT_CORE_SHA256"; then
	fetch "$ORT_NODE_PACKAGE" "$ORT_CORE_PATH" "$ORT_CORE_SHA256"
fi

if [[ "$what" == cuda ]]; then
	if ! matches "$dest/libonnxruntime_providers_cuda.so" "$ORT_CUDA_SHA256" ||
		! matches "$dest/libonnxruntime_providers_shared.so" "$ORT_SHARED_SHA256"; then
		fetch "$ORT_GPU_PACKAGE" \
			"$ORT_GPU_DIR/libonnxruntime_providers_cuda.so" "$ORT_CUDA_SHA256" \
			"$ORT_GPU_DIR/libonnxruntime_providers_shared.so" "$ORT_SHARED_SHA256"
	fi
fi
