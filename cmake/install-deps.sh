#!/usr/bin/env bash
# Installs the Debian 12 packages parex's build, tests and benchmarks need, if any is missing.
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
# Usage: cmake/install-deps.sh [--tests]   (--tests: also the clang toolchain the tests build with)
set -euo pipefail

packages=(
  cmake g++ make pkg-config      # toolchain
  libtbb-dev libtbbbind-2-5      # oneTBB; TBB's CMake config fails without libtbbbind
  catch2                         # tests (v2.13 on Debian 12; v3 also works)
  libbenchmark-dev               # Google Benchmark
  libboost-dev                   # Boost.Asio's thread_pool, a peer of the task benchmarks
  libfmt-dev nlohmann-json3-dev libcli11-dev  # the benchmark report and the CLIs
  libzstd-dev liblz4-dev libxxhash-dev zstd lz4  # compression module; its tests run the zstd and lz4 CLIs
  libsqlite3-dev                 # logbook module's SQLite store
  libhdf5-dev                    # waveform module's batch files
  libeigen3-dev libspectra-dev   # reservoir module: linear algebra, spectral radius
  libopenmpi-dev openmpi-bin     # parex::mpi and its tests under mpirun
  python3-matplotlib             # parex-transport --plot, the main job's charts
)
if [[ ${1:-} == --tests ]]; then
  packages+=(clang-19 libc++-19-dev libc++abi-19-dev libclang-rt-19-dev  # the clang, libcxx and fuzz presets
             clang-format-19 clang-tidy-19)                           # the format and clang-tidy checks
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
# Node and npm run adif-parser-ts, the logbook module's peer. Any Node 18+ will do (a machine may have
# NodeSource's, whose nodejs package carries npm): Debian's packages only when the commands are missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

# The peers from the npm registry, pinned by the lock file beside their package.json.
install_npm_peers() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local peer="$root/benchmarks/peers/adif-parser-ts"
  if [[ ! -f $peer/node_modules/adif-parser-ts/package.json ]]; then
    echo "parex: installing npm peers in benchmarks/peers/adif-parser-ts" >&2
    (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

if ((${#missing[@]} == 0)); then
  install_npm_peers
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
install_npm_peers
