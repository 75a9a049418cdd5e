#!/usr/bin/env bash
# Installs every Debian package that troupe's build, tests and benchmarks use.
# Idempotent and non-interactive: packages already present are skipped.
#
#   deploy/install-deps.sh           build and test dependencies
#   deploy/install-deps.sh --bench   also the benchmarks' peers: Python
#                                    packages (Optuna, XGBoost, scikit-learn,
#                                    pandas) run with /usr/bin/python3, and
#                                    redis-server 7 with redis-tools, and
#                                    dataset-fashion-mnist (bench_nas), and
#                                    liblinear-tools (bench_ps_peers)
set -euo pipefail

bench=0
for arg in "$@"; do
  case $arg in
    --bench) bench=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-deps: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # runtime libraries
  libcaf-dev capnproto libcapnp-dev liblmdb-dev lmdb-utils libspdlog-dev libfmt-dev
  libcli11-dev libreadline-dev nlohmann-json3-dev libtomlplusplus-dev
  libxgboost-dev xgboost libtorch-dev libgloo-dev libcpp-httplib-dev libjemalloc-dev
  libmetis-dev
  zlib1g-dev libssl-dev
  # tests (chromium: the study report is opened in real headless Chromium;
  # redis-tools: redis-cli and redis-benchmark against the RESP endpoint;
  # clang and libFuzzer: tests/fuzz)
  catch2 openssh-server openssh-client procps iproute2 netcat-openbsd chromium
  redis-tools clang libfuzzer-14-dev
)
if [ "$bench" -eq 1 ]; then
  # peers of tests/bench/*: Python 3 packages for /usr/bin/python3 (PyTorch:
  # bench_torch_parallel's DDP), and Redis (bench_features); Fashion-MNIST
  # (bench_nas, bench_torch_parallel: the full 60,000 + 10,000 images in
  # /usr/share/datasets/fashion-mnist); LIBLINEAR (bench_ps_peers)
  packages+=(python3-optuna python3-xgboost python3-sklearn python3-pandas python3-torch
    redis-server dataset-fashion-mnist liblinear-tools)
fi

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
