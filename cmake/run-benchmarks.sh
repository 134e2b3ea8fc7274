#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release, runs the benchmark suite on the bundled data
# and prints a summary, one line per benchmark (parex's speed-up and its ratio to the fastest peer).
# The full table, the JSON and two charts go to build/release/benchmarks: table.txt, summary.json,
# speed-up.png and parex-vs-peer.png.
# PAREX_COMPRESS_LEVELS=1,3,9 adds zstd levels to the compression rows (default: 3).
# Extra arguments go to every benchmark binary (e.g. --benchmark_filter=executor).
set -euo pipefail
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
cd "$(dirname "$0")/.."
cmake/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target parex-benchmarks >/dev/null  # the benchmarks, not the examples

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
  launch=()
  # The MPI layer: 2 ranks of 1 thread on this machine's cores (docs/mpi.md runs other shapes).
  [[ $name == parex-bench-mpi ]] && launch=(env PAREX_NUM_THREADS=1 mpirun -np 2 --oversubscribe --bind-to none --allow-run-as-root)
  "${launch[@]}" "$binary" --benchmark_out="$out/raw-$name.json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true --benchmark_min_time=0.1 \
    --benchmark_report_aggregates_only=true "$@" >/dev/null
  raw+=("$out/raw-$name.json")
done
"$out/parex-bench-report" --table "$out/table.txt" --json "$out/summary.json" "${raw[@]}"
# The charts need matplotlib for /usr/bin/python3 (Debian's python3-matplotlib, which install-deps.sh installs).
/usr/bin/python3 benchmarks/plot_summary.py "$out/summary.json" "$out"
