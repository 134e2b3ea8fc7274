// Conformance: the executor's concurrency promises (docs/chunked_executor.md, "Guarantees"): an
// executor of N never runs more than N pieces of work at once (chunks, stages and tasks together, from
// several calling threads); a call nested in the executor's own work is isolated, so no outer piece of
// work sees another's worker_local State; a thread waiting on a task_future runs the task if it has not
// started, so tasks that wait on tasks of their own executor never deadlock.
#include <parex/chunked_executor.hpp>
#include <parex/pipeline.hpp>
#include <parex/worker_local.hpp>

#include "parex_catch.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Arenas of 2 and 3 really get 2 and 3 threads on a 2-core machine (oneTBB caps workers at the cores).
const tbb::global_control allow_oversubscription(tbb::global_control::max_allowed_parallelism, 8);

/// Busy for about `micros` microseconds without sleeping, so that pieces of work overlap when they can.
void spin(std::chrono::microseconds micros) {
    const auto until = std::chrono::steady_clock::now() + micros;
    while (std::chrono::steady_clock::now() < until) {}
}

/// Pieces of work running at once: the peak, and the threads that ran any.
struct meter {
    std::atomic<std::size_t> running{0}, peak{0};
    std::mutex mutex;
    std::set<std::thread::id> threads;

    void piece(std::chrono::microseconds micros) {
        const auto now = ++running;
        auto seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
        {
            const std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
        }
        spin(micros);
        --running;
    }
};

/// Runs `scenario` on another thread and fails the test, ending the process, if it has not returned
/// within a minute (a deadlock would otherwise hang the test until ctest's timeout).
void within_a_minute(const char* what, const std::function<void()>& scenario) {
    auto done = std::async(std::launch::async, scenario);
    if (done.wait_for(60s) == std::future_status::timeout) {
        std::fprintf(stderr, "deadlock: %s did not finish within a minute\n", what);
        std::_Exit(1);
    }
    done.get();
}

}  // namespace

TEST_CASE("an executor of N runs at most N chunks, stages and tasks at once, from several callers",
          "[executor][bound]") {
    constexpr int rounds = 150;
    for (std::size_t limit : {1u, 2u, 3u}) {
        parex::chunked_executor ex({.max_concurrency = limit});
        parex::worker_local<int> local(ex, [](std::size_t) { return 0; });
        meter m;
        const auto piece = [&] {
            ++local.get();
            m.piece(20us);
        };
        const auto caller = [&] {
            for (int round = 0; round < rounds; ++round) {
                for (int i = 0; i < 3; ++i) ex.run(piece);
                auto task = ex.submit(piece);
                ex.for_each(parex::chunks(8, parex::grain{1}), [&](parex::chunk) { piece(); });
                int next = 0;
                parex::run_pipeline(
                    ex, [&]() -> std::optional<int> { return next < 6 ? std::optional(next++) : std::nullopt; },
                    [&](int v) {
                        piece();
                        return v;
                    },
                    [](int) {});
                task.get();
            }
        };
        std::thread second(caller);  // two threads call the executor at once
        caller();
        second.join();
        ex.wait();
        INFO("executor of " << limit << ": at most " << m.peak.load() << " pieces at once, on " << m.threads.size()
                            << " distinct threads, " << local.built() << " States");
        CHECK(m.peak.load() <= limit);
        CHECK(m.peak.load() >= 1);
        CHECK(local.built() <= limit);
    }
}

TEST_CASE("an executor of one runs its work one piece at a time, repeatedly", "[executor][bound]") {
    // The second slot that oneTBB before 2021.10 gives an arena of one shows only now and then.
    std::size_t worst = 0, states = 0;
    for (int run = 0; run < 10; ++run) {
        parex::chunked_executor ex({.max_concurrency = 1});
        parex::worker_local<int> local(ex, [](std::size_t) { return 0; });
        meter m;
        for (int round = 0; round < 40; ++round) {
            for (int i = 0; i < 4; ++i)
                ex.run([&] {
                    ++local.get();
                    m.piece(20us);
                });
            ex.for_each(parex::chunks(8, parex::grain{1}), [&](parex::chunk) {
                ++local.get();
                m.piece(20us);
            });
        }
        ex.wait();
        worst = std::max(worst, m.peak.load());
        states = std::max(states, local.built());
    }
    CHECK(worst == 1);
    CHECK(states == 1);
}

namespace {

/// A per-slot State that records whether an outer piece of work is using it.
struct in_use_flag {
    std::atomic<bool> held{false};
};

/// Outer pieces of work (chunks, run and submit tasks) that each hold their State across a nested
/// call on the same executor; returns how often an outer piece found its State held by another.
std::size_t outer_pieces_sharing_a_state(std::size_t threads, int rounds) {
    parex::chunked_executor ex({.max_concurrency = threads});
    parex::worker_local<in_use_flag> local(ex, [](std::size_t) { return in_use_flag{}; });
    std::atomic<std::size_t> shared{0};
    const auto outer = [&](std::size_t seed) {
        auto& state = local.get();
        if (state.held.exchange(true)) ++shared;
        switch (seed % 3) {
            case 0: ex.for_each(parex::chunks(6, parex::grain{1}), [](parex::chunk) { spin(30us); }); break;
            case 1:
                (void)ex.map_reduce(
                    parex::chunks(6, parex::grain{1}),
                    [](parex::chunk c) {
                        spin(30us);
                        return c.size();
                    },
                    std::plus<>{}, std::size_t{0});
                break;
            default: {
                int next = 0;
                parex::run_pipeline(
                    ex, [&]() -> std::optional<int> { return next < 6 ? std::optional(next++) : std::nullopt; },
                    [](int v) {
                        spin(30us);
                        return v;
                    },
                    [](int) {});
            }
        }
        state.held.store(false);
    };
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t i = 0; i < 3; ++i) ex.run([&, i] { outer(i); });
        std::vector<parex::task_future<void>> tasks;
        for (std::size_t i = 0; i < 3; ++i) tasks.push_back(ex.submit([&, i] { outer(i + 1); }));
        ex.for_each(parex::chunks(12, parex::grain{1}), [&](parex::chunk c) { outer(c.index); });
        for (auto& t : tasks) t.get();
        ex.wait();
    }
    return shared.load();
}

}  // namespace

TEST_CASE("a call nested in the executor's work is isolated: no outer piece sees another's State",
          "[executor][nesting]") {
    // Without isolation, oneTBB 2021.8 shows the hazard from 4 threads on (a thread waiting in a nested
    // call steals an outer chunk from a third thread): see the hidden test below.
    for (std::size_t threads : {2u, 3u, 4u}) {
        INFO("executor of " << threads);
        CHECK(outer_pieces_sharing_a_state(threads, 100) == 0);
    }
}

TEST_CASE("oneTBB without isolation runs an outer chunk inside a waiting nested call", "[.hazard]") {
    // The schedule parex's isolation rules out, shown on raw oneTBB: a thread waiting in a nested
    // parallel_for, its own deque empty, steals an outer chunk from a third thread, and that chunk finds
    // the State of the thread's slot in use. Seen from 4 threads on (2021.8: 39 of 800 outer chunks in
    // one run); with this_task_arena::isolate around the inner loop, never. Hidden (run it with its
    // tag): it shows what oneTBB may do, which no test can require of it.
    tbb::task_arena arena(4);
    std::vector<in_use_flag> states(4);
    std::atomic<std::size_t> shared{0};
    arena.execute([&] {
        for (int round = 0; round < 50; ++round)
            tbb::parallel_for(
                tbb::blocked_range<int>(0, 16, 1),
                [&](const tbb::blocked_range<int>&) {
                    auto& state = states[static_cast<std::size_t>(tbb::this_task_arena::current_thread_index())];
                    if (state.held.exchange(true)) ++shared;
                    tbb::parallel_for(
                        tbb::blocked_range<int>(0, 4, 1),
                        [](const tbb::blocked_range<int>& r) { std::this_thread::sleep_for(200us * (r.begin() + 1)); },
                        tbb::simple_partitioner{});
                    state.held.store(false);
                },
                tbb::simple_partitioner{});
    });
    std::printf("oneTBB without isolation: %zu outer chunks found their State in use\n", shared.load());
    CHECK(shared.load() > 0);
}

TEST_CASE("get() runs a task that no worker has started on the waiting thread, as the executor's work",
          "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 2});  // one worker, one caller's slot
    parex::worker_local<std::thread::id> local(ex, [](std::size_t) { return std::this_thread::get_id(); });
    std::latch started(1), release(1);
    ex.run([&] {  // holds the only worker
        started.count_down();
        release.wait();
    });
    started.wait();
    auto task = ex.submit([&] { return std::make_pair(std::this_thread::get_id(), local.get()); });
    CHECK(task.wait_for(10ms) == std::future_status::timeout);  // wait_for only waits
    const auto [ran_on, state_of] = task.get();
    CHECK(ran_on == std::this_thread::get_id());
    CHECK(state_of == std::this_thread::get_id());  // a State of its own slot, built here
    release.count_down();
    ex.wait();
}

TEST_CASE("tasks that wait on futures of their own executor never deadlock, with every slot waiting",
          "[executor][tasks]") {
    for (std::size_t threads : {1u, 2u}) {
        INFO("executor of " << threads);
        parex::chunked_executor ex({.max_concurrency = threads});
        // chain(d) waits on chain(d - 1), submitted to the same executor: d tasks waiting at once.
        std::function<int(int)> chain = [&](int depth) -> int {
            if (depth == 0) return 0;
            auto below = ex.submit([&, depth] { return chain(depth - 1); });
            return below.get() + 1;
        };
        within_a_minute("chains of nested futures", [&] {
            for (int round = 0; round < 20; ++round) {
                std::vector<parex::task_future<int>> roots;
                for (int r = 0; r < 4; ++r) roots.push_back(ex.submit([&] { return chain(12); }));
                for (auto& root : roots) CHECK(root.get() == 12);
            }
        });
        // Every slot's task waits on a task queued behind them all.
        within_a_minute("every slot waiting", [&] {
            std::vector<parex::task_future<int>> waiting;
            std::vector<std::shared_ptr<parex::task_future<int>>> last(threads);
            for (auto& l : last) l = std::make_shared<parex::task_future<int>>();
            std::latch all_submitted(1);
            for (std::size_t s = 0; s < threads; ++s)
                waiting.push_back(ex.submit([&, s] {
                    all_submitted.wait();
                    return last[s]->get();
                }));
            for (std::size_t s = 0; s < threads; ++s) *last[s] = ex.submit([s] { return static_cast<int>(s); });
            all_submitted.count_down();
            for (std::size_t s = 0; s < threads; ++s) CHECK(waiting[s].get() == static_cast<int>(s));
        });
    }
}

TEST_CASE("a task_future is used like std::future: get once, exceptions, wait_for, no state", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    auto value = ex.submit([] { return std::make_unique<int>(42); });  // move-only results pass
    auto error = ex.submit([] { throw std::domain_error("task failed"); });
    CHECK(value.wait_for(10s) == std::future_status::ready);
    CHECK(*value.get() == 42);
    CHECK_FALSE(value.valid());
    CHECK_THROWS_AS(error.get(), std::domain_error);
    parex::task_future<int> empty;
    CHECK_FALSE(empty.valid());
    CHECK_THROWS_AS(empty.get(), std::future_error);
    CHECK_THROWS_AS(empty.wait_for(1ms), std::future_error);
}
