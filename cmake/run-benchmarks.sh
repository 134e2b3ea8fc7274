#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release, runs the benchmark suite on the bundled data
# and prints one table; the same table is written as JSON to build/release/benchmarks/summary.json.
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=executor).
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --workflow --preset release >/dev/null

out=build/release/benchmarks
raw=()
# One process per binary: OpenMP's spinning idle threads must not share a process with the oneTBB runs.
for binary in "$out"/parex-bench-*; do
  name=$(basename "$binary")
  [[ $name == parex-bench-report ]] && continue
  echo "running $name" >&2
  "$binary" --benchmark_out="$out/raw-$name.json" --benchmark_out_format=json \
    --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
    --benchmark_report_aggregates_only=true "$@" >/dev/null
  raw+=("$out/raw-$name.json")
done
"$out/parex-bench-report" --json "$out/summary.json" "${raw[@]}"
