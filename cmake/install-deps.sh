#!/usr/bin/env bash
# Installs the Debian 12 packages parex's build, tests and benchmarks need, if any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
# Usage: cmake/install-deps.sh
set -euo pipefail

packages=(
  cmake g++ make pkg-config      # toolchain
  libtbb-dev libtbbbind-2-5      # oneTBB; TBB's CMake config fails without libtbbbind
  catch2                         # tests (v2.13 on Debian 12; v3 also works)
  libbenchmark-dev               # Google Benchmark
  libfmt-dev nlohmann-json3-dev libcli11-dev  # the benchmark report and the CLIs
  libzstd-dev liblz4-dev libxxhash-dev zstd lz4  # compression module; its tests run the zstd and lz4 CLIs
  python3-matplotlib             # parex-transport --plot
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "parex: missing Debian packages. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "parex: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
