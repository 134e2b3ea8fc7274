// worker_pool against the patterns it replaces: rebuilding the state for every task (what a
// process pool without an initializer does), std::async per task, and oneTBB's enumerable_thread_specific with lazy initialisation.
// Workload: an initializer of 1 ms (a table filled, then busy time up to 1 ms) and tasks of 20 us of
// busy CPU, so the ideal throughput is `threads` / 20 us.
#include "kernels.hpp"

#include <parex/worker_pool.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <future>
#include <numeric>
#include <optional>
#include <vector>

namespace pb = parex::bench;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t task_count = 20'000;
constexpr std::size_t rebuild_task_count = 1'000;  // the slow peers: throughput is per task, so fewer do
constexpr auto init_time = 1ms;
constexpr auto task_time = 20us;

void spin_until(std::chrono::steady_clock::time_point end) {
    while (std::chrono::steady_clock::now() < end) {}
}

/// The per-worker state, of the size and cost of a waveform generator and its frequency domain.
struct generator {
    std::vector<double> table;
    generator() : table(4096) {
        const auto end = std::chrono::steady_clock::now() + init_time;
        std::iota(table.begin(), table.end(), 0.0);
        spin_until(end);
    }
    double operator()(std::size_t i) const {
        spin_until(std::chrono::steady_clock::now() + task_time);
        return table[i % table.size()];
    }
};

std::vector<std::size_t> inputs(std::size_t n) {
    std::vector<std::size_t> v(n);
    std::iota(v.begin(), v.end(), std::size_t{0});
    return v;
}

void pool_sequential(benchmark::State& state) {
    const auto in = inputs(task_count);
    for (auto _ : state) {
        generator g;  // built once, as a single worker would
        double s = 0;
        for (const auto i : in) s += g(i);
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * task_count));
}

void pool_parex(benchmark::State& state) {
    const auto batch = static_cast<std::size_t>(state.range(0));
    const auto in = inputs(task_count);
    parex::worker_pool<generator> pool({.max_concurrency = pb::threads()}, [](std::size_t) { return generator{}; });
    for (auto _ : state)
        benchmark::DoNotOptimize(pool.map(in, [](generator& g, std::size_t i) { return g(i); }, {.batch = batch}));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * task_count));
}

void pool_rebuild_per_task(benchmark::State& state) {
    const auto in = inputs(rebuild_task_count);
    std::vector<double> out(in.size());
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    for (auto _ : state)
        arena.execute(
            [&] { tbb::parallel_for(std::size_t{0}, in.size(), [&](std::size_t k) { out[k] = generator{}(in[k]); }); });
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rebuild_task_count));
}

void pool_async_per_task(benchmark::State& state) {
    const auto in = inputs(rebuild_task_count);
    const auto t = pb::threads();
    for (auto _ : state) {
        double s = 0;
        for (std::size_t first = 0; first < in.size(); first += t) {  // `t` tasks in flight at a time
            std::vector<std::future<double>> wave;
            for (auto k = first; k < std::min(in.size(), first + t); ++k)
                wave.push_back(std::async(std::launch::async, [i = in[k]] {
                    thread_local generator g;  // a new thread each time: built for every task
                    return g(i);
                }));
            for (auto& f : wave) s += f.get();
        }
        benchmark::DoNotOptimize(s);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * rebuild_task_count));
}

void pool_tbb_ets(benchmark::State& state) {
    const auto in = inputs(task_count);
    std::vector<double> out(in.size());
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    tbb::enumerable_thread_specific<generator> generators;  // built lazily, once per thread
    for (auto _ : state)
        arena.execute([&] {
            tbb::parallel_for(std::size_t{0}, in.size(), [&](std::size_t k) { out[k] = generators.local()(in[k]); });
        });
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * task_count));
}

}  // namespace

#define PAREX_POOL_BENCH(fn, name) \
    BENCHMARK(fn)->Name(name)->UseRealTime()->Unit(benchmark::kMillisecond)->Iterations(1)

PAREX_POOL_BENCH(pool_sequential, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 1/sequential");
PAREX_POOL_BENCH(pool_parex, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 1/parex")->Arg(1);
PAREX_POOL_BENCH(
    pool_rebuild_per_task,
    "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 1/peer:rebuild state per task (1000 tasks)");
PAREX_POOL_BENCH(pool_async_per_task,
                 "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 1/peer:std::async per task (1000 tasks)");
PAREX_POOL_BENCH(pool_tbb_ets,
                 "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 1/peer:tbb enumerable_thread_specific");
PAREX_POOL_BENCH(pool_sequential, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 16/sequential");
PAREX_POOL_BENCH(pool_parex, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 16/parex")->Arg(16);
PAREX_POOL_BENCH(pool_sequential, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 256/sequential");
PAREX_POOL_BENCH(pool_parex, "worker_pool/20000 tasks of 20 us - 1 ms initializer - batch 256/parex")->Arg(256);

int main(int argc, char** argv) { return pb::run_benchmarks(argc, argv); }
