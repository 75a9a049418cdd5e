#!/usr/bin/env bash
# Installs the dependencies, builds troupe and runs every test (unit,
# deterministic actor, integration with real processes, launcher scripts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh"
cd "${TROUPE_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 300 "$@"
