#!/bin/sh
# Copies the CUDA libraries that hack/images/cuda-libraries.txt marks `needed`
# or `dlopen` from this image (a CUDA runtime image, Dockerfile.runtime's
# CUDA_IMAGE) into DEST, beside onnxruntime and its CUDA provider, following
# symbolic links. Fails when a listed library is missing, and when ldd finds
# a dependency of a library in DEST that is neither in DEST nor in this image,
# except the driver's (libcuda.so.1, mounted at run time).
#
#   copy-cuda-libraries.sh LIST DEST
#
# CUDA_LIBRARY_DIRS (space-separated) replaces the directories searched.
set -eu
list="$1"
dest="$2"
dirs="${CUDA_LIBRARY_DIRS:-/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu /usr/local/lib}"

for f in libonnxruntime.so.1 libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  [ -f "$dest/$f" ] || { echo "copy-cuda-libraries: $dest/$f is missing (make onnxruntime-cuda)" >&2; exit 1; }
done

missing=""
wanted=$(mktemp)
awk '!/^#/ && NF >= 2 && ($2 == "needed" || $2 == "dlopen") { print $1 }' "$list" >"$wanted"
while read -r pattern; do
  found=""
  for d in $dirs; do
    for f in "$d"/$pattern; do
      [ -e "$f" ] || continue
      cp -L "$f" "$dest/${f##*/}"
      echo "copy-cuda-libraries: $f" >&2
      found=1
      break
    done
    [ -z "$found" ] || break
  done
  [ -n "$found" ] || missing="$missing $pattern"
done <"$wanted"
rm -f "$wanted"
if [ -n "$missing" ]; then
  echo "copy-cuda-libraries: not found in $dirs:$missing" >&2
  exit 1
fi

if command -v ldd >/dev/null 2>&1; then
  unresolved=$(for f in "$dest"/*.so*; do LD_LIBRARY_PATH="$dest" ldd "$f" 2>/dev/null | awk -v f="${f##*/}" '/not found/ && $1 != "libcuda.so.1" { print f ": " $1 }'; done)
  if [ -n "$unresolved" ]; then
    echo "copy-cuda-libraries: ldd finds unresolved dependencies:" >&2
    echo "$unresolved" >&2
    exit 1
  fi
fi
