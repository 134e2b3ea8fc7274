// An executor made for each call: a parex::chunked_executor made, used for one small map_reduce and
// destroyed, 20,000 times, against a tbb::task_arena used the same way.
//
// The peer leaves memory behind for every arena destroyed (oneTBB 2021.8; docs/chunked_executor.md,
// "Costs"), and every later arena in the process starts slower. So these rows have a process of their
// own, run in the order written (parex first, the peer last), and a fixed number of iterations: the
// peer's time grows with every arena made before it, and the same count keeps runs comparable.
#include "kernels.hpp"

#include <parex/chunked_executor.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_reduce.h>
#include <oneapi/tbb/task_arena.h>

#include <functional>
#include <string>
#include <vector>

namespace pb = parex::bench;

namespace {

/// Calls per iteration; the rows run 20 iterations, so each makes 20,000 executors or arenas (1,000
/// with PAREX_BENCH_SMALL).
const std::size_t calls = pb::scaled(1'000, 20);

/// One call's whole life: an executor of threads() made, a map_reduce of 8 chunks on it, destroyed.
void executor_per_call_parex(benchmark::State& state) {
    for (auto _ : state) {
        for (std::size_t i = 0; i < calls; ++i) {
            parex::chunked_executor ex({.max_concurrency = pb::threads()});
            const auto n = ex.map_reduce(
                parex::chunks(64, parex::grain{8}), [](parex::chunk c) { return c.end - c.begin; }, std::plus<>{},
                std::size_t{0});
            if (n != 64) state.SkipWithError("a chunk did not run");
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * calls));
}

void executor_per_call_tbb(benchmark::State& state) {
    for (auto _ : state) {
        for (std::size_t i = 0; i < calls; ++i) {
            tbb::task_arena arena(static_cast<int>(pb::threads()));
            const auto n = arena.execute([] {
                return tbb::parallel_reduce(
                    tbb::blocked_range<std::size_t>(0, 64, 8), std::size_t{0},
                    [](const tbb::blocked_range<std::size_t>& r, std::size_t sum) { return sum + r.size(); },
                    std::plus<>{});
            });
            if (n != 64) state.SkipWithError("a chunk did not run");
        }
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * calls));
}

}  // namespace

BENCHMARK(executor_per_call_parex)
    ->Name("tasks/an executor made for each of 20000 calls/parex")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);
BENCHMARK(executor_per_call_tbb)
    ->Name("tasks/an executor made for each of 20000 calls/peer:tbb::task_arena")
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(20);

/// Random interleaving (which the main job asks of every binary) would run parex's repetitions after
/// the peer's: the order is fixed here, whatever the command line says.
int main(int argc, char** argv) {
    std::vector<char*> args(argv, argv + argc);
    std::string in_order = "--benchmark_enable_random_interleaving=false";
    args.push_back(in_order.data());
    args.push_back(nullptr);
    return pb::run_benchmarks(argc + 1, args.data());
}
