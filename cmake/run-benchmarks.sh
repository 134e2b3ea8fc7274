#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release, runs the benchmark suite on the bundled data
# and prints a summary, one line per benchmark (parex's speed-up and its ratio to the fastest peer).
# The full table, the JSON and two charts go to build/release/benchmarks: table.txt, summary.json,
# speed-up.png and parex-vs-peer.png (benchmarks/run_suite.sh runs the programs and writes them).
# PAREX_COMPRESS_LEVELS=1,3,9 adds zstd levels to the compression rows (default: 3).
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=executor).
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target parex-benchmarks >/dev/null  # the benchmarks, not the examples
benchmarks/run_suite.sh build/release/benchmarks "$@"
