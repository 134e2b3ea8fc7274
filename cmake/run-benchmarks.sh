#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release, runs the benchmark suite on the bundled data
# and prints one table; the same table is written as JSON to build/release/benchmarks/summary.json.
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=executor).
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --workflow --preset release >/dev/null

out=build/release/benchmarks
raw=()
# Each binary (and the OpenMP peers, whose spinning threads would disturb the TBB runs) gets its own process.
while read -r binary filter; do
  [[ -x $out/$binary ]] || continue
  json=$out/raw-$binary${filter:+-omp}.json
  echo "running $binary ${filter:-}" >&2
  "$out/$binary" ${filter:+--benchmark_filter=$filter} --benchmark_out="$json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true "$@" >/dev/null
  raw+=("$json")
done <<'LIST'
parex-bench-primitives -omp
parex-bench-primitives omp
LIST
"$out/parex-bench-report" --json "$out/summary.json" "${raw[@]}"
