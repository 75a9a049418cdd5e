#!/usr/bin/env bash
# Installs every Debian package that troupe's build, tests and benchmarks use.
# Idempotent and non-interactive: packages already present are skipped.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # runtime libraries
  libcaf-dev capnproto libcapnp-dev liblmdb-dev lmdb-utils libspdlog-dev libfmt-dev
  libcli11-dev libreadline-dev nlohmann-json3-dev libtomlplusplus-dev
  libxgboost-dev xgboost
  # tests
  catch2 openssh-server openssh-client procps iproute2 netcat-openbsd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
