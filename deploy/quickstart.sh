#!/usr/bin/env bash
# Installs the dependencies, builds troupe and runs the main job on an
# embedded single-node default: a cluster formed inside one process.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh" troupe
exec "$root/build/bin/troupe" demo "$@"
