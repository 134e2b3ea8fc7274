#!/usr/bin/env bash
# Runs every benchmark program of a build's benchmarks folder, one process each, then writes the
# summary: the table (stdout and table.txt), summary.json, speed-up.png and parex-vs-peer.png, all in
# that folder. The main job's second half (cmake/run-benchmarks.sh), and what the main-job ctest runs
# on the dev build (tests/main_job) with PAREX_BENCH_REPETITIONS=1, a short PAREX_BENCH_MIN_TIME and
# PAREX_BENCH_SMALL=1 (reduced inputs).
# Usage: benchmarks/run_suite.sh BENCH_DIR [arguments for every benchmark binary...]
# Environment: PAREX_BENCH_REPETITIONS (default 3), PAREX_BENCH_MIN_TIME (seconds, default 0.1),
# PAREX_COMPRESS_CORPUS (the compression corpus; default BENCH_DIR/compress-corpus.tar, made if absent).
set -euo pipefail
out=${1:?usage: $0 BENCH_DIR [benchmark arguments...]}
shift
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
repetitions=${PAREX_BENCH_REPETITIONS:-3}
min_time=${PAREX_BENCH_MIN_TIME:-0.1}
# The compression benchmarks' corpus (about 110 MiB, assembled from installed Debian packages).
export PAREX_COMPRESS_CORPUS=${PAREX_COMPRESS_CORPUS:-$(cd "$out" && pwd)/compress-corpus.tar}
[[ -f $PAREX_COMPRESS_CORPUS ]] || "$root/cmake/make-compress-corpus.sh" "$PAREX_COMPRESS_CORPUS"
raw=()
# One process per binary: OpenMP's spinning idle threads must not share a process with the oneTBB runs.
# parex-bench-primitives runs as two processes: its `for_each over` rows (a few microseconds each) apart
# from the others, whose nested and skewed rows leave oneTBB's threads in a state that doubles those
# rows' times for parex and oneTBB alike (docs/benchmarks.md). A --benchmark_filter given here runs it
# as one process.
for binary in "$out"/parex-bench-*; do
  name=$(basename "$binary")
  [[ $name == parex-bench-report ]] && continue
  echo "running $name" >&2
  launch=()
  # The MPI layer: 2 ranks of 1 thread on this machine's cores (docs/mpi.md runs other shapes).
  [[ $name == parex-bench-mpi ]] && launch=(env PAREX_NUM_THREADS=1 mpirun -np 2 --oversubscribe --bind-to none --allow-run-as-root)
  parts=("")
  [[ $name == parex-bench-primitives && " $* " != *--benchmark_filter* ]] && parts=("for_each over" "-for_each over")
  for k in "${!parts[@]}"; do
    file="$out/raw-$name.json"
    filter=()
    if [[ -n ${parts[k]} ]]; then
      file="$out/raw-$name.part$k.json"
      filter=(--benchmark_filter="${parts[k]}")
    fi
    "${launch[@]}" "$binary" --benchmark_out="$file" --benchmark_out_format=json \
      --benchmark_repetitions="$repetitions" --benchmark_enable_random_interleaving=true \
      --benchmark_min_time="$min_time" --benchmark_report_aggregates_only=true "${filter[@]}" "$@" >/dev/null
    raw+=("$file")
  done
done
"$out/parex-bench-report" --table "$out/table.txt" --json "$out/summary.json" "${raw[@]}"
# The charts need matplotlib for /usr/bin/python3 (Debian's python3-matplotlib, which install-deps.sh installs).
/usr/bin/python3 "$root/benchmarks/plot_summary.py" "$out/summary.json" "$out"
