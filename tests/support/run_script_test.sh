#!/usr/bin/env bash
# Runs one script test in a fresh temporary directory and removes it after.
set -euo pipefail
script="$1"
dir=$(mktemp -d "${TMPDIR:-/tmp}/troupe-test.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
bash "$script"
