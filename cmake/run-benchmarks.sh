#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release, runs the benchmark suite on the bundled data
# and prints one table; the same table is written as JSON to build/release/benchmarks/summary.json.
# PAREX_COMPRESS_LEVELS=1,3,9 adds zstd levels to the compression rows (default: 3).
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=executor).
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --workflow --preset release >/dev/null

out=build/release/benchmarks
# The compression benchmarks' corpus (about 110 MiB, assembled from installed Debian packages).
export PAREX_COMPRESS_CORPUS=${PAREX_COMPRESS_CORPUS:-$PWD/$out/compress-corpus.tar}
[[ -f $PAREX_COMPRESS_CORPUS ]] || cmake/make-compress-corpus.sh "$PAREX_COMPRESS_CORPUS"
raw=()
# One process per binary: OpenMP's spinning idle threads must not share a process with the oneTBB runs.
for binary in "$out"/parex-bench-*; do
  name=$(basename "$binary")
  [[ $name == parex-bench-report ]] && continue
  echo "running $name" >&2
  "$binary" --benchmark_out="$out/raw-$name.json" --benchmark_out_format=json \
    --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true --benchmark_min_time=0.2 \
    --benchmark_report_aggregates_only=true "$@" >/dev/null
  raw+=("$out/raw-$name.json")
done
"$out/parex-bench-report" --json "$out/summary.json" "${raw[@]}"
