#!/usr/bin/env bash
# Configures and builds troupe into build/ (Ninja, ccache when present).
# Usage: deploy/build.sh [TARGET...]   (default: everything)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="${TROUPE_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${TROUPE_BUILD_TYPE:-Release}" \
    ${TROUPE_CMAKE_ARGS:-}
fi
if [ $# -gt 0 ]; then
  cmake --build "$build" --target "$@"
else
  cmake --build "$build"
fi
