// Task overhead: 100,000 empty tasks submitted one by one from the calling thread, then all waited for.
// parex's executor (submit with a future; run and wait without) and its stateless worker pool, against
// oneTBB's task_group, Boost.Asio's thread_pool with futures, and std::async, each on threads() threads.
#include "kernels.hpp"

#include <parex/chunked_executor.hpp>
#include <parex/worker_pool.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <future>
#include <vector>

namespace pb = parex::bench;

namespace {

constexpr std::size_t task_count = 100'000;
constexpr std::size_t async_task_count = 1'000;  // std::async starts a thread per task: fewer, same per-task rate

void set_counters(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
}

/// The empty task: it returns a value so that a future has something to carry.
int empty_task() { return 1; }

/// Submits `n` empty tasks one by one through submit(), which returns each task's future, then waits
/// for every future and checks the sum, so that no variant skips its work.
template <class Submit>
void measure_futures(benchmark::State& state, std::size_t n, Submit submit) {
    std::vector<decltype(submit())> futures;  // parex::task_future<int> for parex, std::future<int> for the rest
    futures.reserve(n);
    for (auto _ : state) {
        futures.clear();
        for (std::size_t i = 0; i < n; ++i) futures.push_back(submit());
        std::size_t sum = 0;
        for (auto& f : futures) sum += static_cast<std::size_t>(f.get());
        if (sum != n) state.SkipWithError("a task did not run");
    }
    set_counters(state, n);
}

void tasks_parex_submit(benchmark::State& state) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    measure_futures(state, task_count, [&] { return ex.submit(empty_task); });
}

/// The same with threads() worker threads besides the caller: oneTBB starts at most one worker fewer
/// than the machine has cores and counts the caller's slot in the executor's size, so the executor
/// gets one slot more and oneTBB is allowed threads() workers. The caller runs the tasks it waits for
/// that no worker has started, so here threads() + 1 threads may run tasks.
void tasks_parex_submit_equal_workers(benchmark::State& state) {
    tbb::global_control workers(tbb::global_control::max_allowed_parallelism, pb::threads() + 1);
    parex::chunked_executor ex({.max_concurrency = pb::threads() + 1});
    measure_futures(state, task_count, [&] { return ex.submit(empty_task); });
}

void tasks_parex_run(benchmark::State& state) {
    parex::chunked_executor ex({.max_concurrency = pb::threads()});
    for (auto _ : state) {
        for (std::size_t i = 0; i < task_count; ++i) ex.run([] { benchmark::DoNotOptimize(empty_task()); });
        ex.wait();
    }
    set_counters(state, task_count);
}

void tasks_pool_submit(benchmark::State& state) {
    parex::worker_pool<> pool({.max_concurrency = pb::threads()});
    measure_futures(state, task_count, [&] { return pool.submit(empty_task); });
}

void tasks_tbb_task_group(benchmark::State& state) {
    tbb::task_arena arena(static_cast<int>(pb::threads()));
    tbb::task_group group;
    for (auto _ : state) {
        arena.execute([&] {
            for (std::size_t i = 0; i < task_count; ++i) group.run([] { benchmark::DoNotOptimize(empty_task()); });
            group.wait();
        });
    }
    set_counters(state, task_count);
}

void tasks_asio_futures(benchmark::State& state) {
    boost::asio::thread_pool pool(pb::threads());
    measure_futures(state, task_count, [&] {
        std::packaged_task<int()> task(empty_task);
        auto future = task.get_future();
        boost::asio::post(pool, std::move(task));
        return future;
    });
    pool.join();
}

void tasks_std_async(benchmark::State& state) {
    measure_futures(state, async_task_count, [] { return std::async(std::launch::async, empty_task); });
}

}  // namespace

#define PAREX_TASK_BENCH(fn, name) BENCHMARK(fn)->Name(name)->UseRealTime()->Unit(benchmark::kMillisecond)

PAREX_TASK_BENCH(tasks_parex_submit, "tasks/100000 empty tasks with futures/parex");
PAREX_TASK_BENCH(tasks_pool_submit, "tasks/100000 empty tasks with futures/peer:parex worker_pool<>::submit");
PAREX_TASK_BENCH(tasks_asio_futures, "tasks/100000 empty tasks with futures/peer:boost::asio::thread_pool");
PAREX_TASK_BENCH(tasks_std_async, "tasks/100000 empty tasks with futures/peer:std::async (1000 tasks)");
PAREX_TASK_BENCH(tasks_parex_submit_equal_workers, "tasks/100000 empty tasks with futures, threads() workers/parex");
PAREX_TASK_BENCH(tasks_asio_futures,
                 "tasks/100000 empty tasks with futures, threads() workers/peer:boost::asio::thread_pool");
PAREX_TASK_BENCH(tasks_parex_run, "tasks/100000 empty tasks without futures/parex");
PAREX_TASK_BENCH(tasks_tbb_task_group, "tasks/100000 empty tasks without futures/peer:tbb::task_group");

int main(int argc, char** argv) { return pb::run_benchmarks(argc, argv); }
