// Conformance: parex/worker_pool.hpp, one test per documented semantic.
#include <parex/worker_pool.hpp>

#include "parex_catch.hpp"
#include "task_deadline_contract.hpp"

#include <atomic>
#include <chrono>
#include <concepts>
#include <future>
#include <mutex>
#include <numeric>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

/// A worker state that records where and how often it was built and destroyed.
struct traced_state {
    static inline std::atomic<int> built{0}, destroyed{0};
    std::size_t worker;
    std::thread::id built_on = std::this_thread::get_id();
    std::size_t tasks = 0;
    explicit traced_state(std::size_t w) : worker(w) { ++built; }
    traced_state(const traced_state&) = delete;  // neither copyable nor movable: built in place
    traced_state& operator=(const traced_state&) = delete;
    ~traced_state() { ++destroyed; }
};

void reset_trace() { traced_state::built = traced_state::destroyed = 0; }

}  // namespace

TEST_CASE("each worker runs its initializer exactly once on its own thread before its first task", "[pool]") {
    reset_trace();
    {
        parex::worker_pool<traced_state> pool({.max_concurrency = 3}, [](std::size_t w) { return traced_state(w); });
        CHECK(pool.max_concurrency() == 3);
        CHECK(traced_state::built == 3);  // all built by the time the constructor returns
        std::vector<std::future<bool>> checks;
        for (int i = 0; i < 300; ++i)
            checks.push_back(pool.submit([](traced_state& s) {
                ++s.tasks;
                return s.built_on == std::this_thread::get_id();
            }));
        for (auto& c : checks) CHECK(c.get());
        CHECK(traced_state::built == 3);
        const auto stats = pool.statistics();
        REQUIRE(stats.size() == 3);
        CHECK(std::accumulate(stats.begin(), stats.end(), std::size_t{0},
                              [](std::size_t n, const parex::worker_statistics& w) { return n + w.tasks; }) == 300);
    }
    CHECK(traced_state::destroyed == 3);  // destroyed with the pool
}

TEST_CASE("a throwing initializer fails construction after every worker stopped", "[pool]") {
    reset_trace();
    CHECK_THROWS_WITH((parex::worker_pool<traced_state>({.max_concurrency = 4},
                                                        [](std::size_t w) {
                                                            if (w == 2) throw std::runtime_error("init 2 failed");
                                                            return traced_state(w);
                                                        })),
                      "init 2 failed");
    CHECK(traced_state::built == 3);
    CHECK(traced_state::destroyed == 3);  // the states that were built are gone: no worker is left
}

TEST_CASE("submit returns a future with the value or the exception", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t w) { return static_cast<int>(w) * 100; });
    auto sum = pool.submit([](int& base, int a, int b) { return base * 0 + a + b; }, 2, 3);
    CHECK(sum.get() == 5);
    auto failing = pool.submit([](int&) -> int { throw std::out_of_range("task failed"); });
    CHECK_THROWS_AS(failing.get(), std::out_of_range);
    auto nothing = pool.submit([](int&) {});
    CHECK_NOTHROW(nothing.get());
}

TEST_CASE("map returns results in input order and one batch is one queue entry", "[pool]") {
    parex::worker_pool<std::size_t> pool({.max_concurrency = 3}, [](std::size_t w) { return w; });
    std::vector<int> inputs(1000);
    std::iota(inputs.begin(), inputs.end(), 0);
    for (std::size_t batch : {1u, 7u, 64u, 1000u, 5000u}) {
        const auto before = pool.statistics();
        const auto out = pool.map(inputs, [](std::size_t&, int x) { return x * 2; }, {.batch = batch});
        REQUIRE(out.size() == inputs.size());
        for (std::size_t i = 0; i < out.size(); ++i) REQUIRE(out[i] == 2 * inputs[i]);
        const auto after = pool.statistics();
        std::size_t entries = 0, tasks = 0;
        for (std::size_t w = 0; w < after.size(); ++w) {
            entries += after[w].batches - before[w].batches;
            tasks += after[w].tasks - before[w].tasks;
        }
        INFO("batch=" << batch);
        CHECK(entries == (inputs.size() + batch - 1) / batch);
        CHECK(tasks == inputs.size());
    }
    CHECK_THROWS_AS(pool.map(inputs, [](std::size_t&, int x) { return x; }, {.batch = 0}), std::invalid_argument);
    CHECK(pool.map(std::vector<int>{}, [](std::size_t&, int x) { return x; }).empty());
}

TEST_CASE("for_each runs every input once with its worker's state", "[pool]") {
    parex::worker_pool<std::vector<int>> pool({.max_concurrency = 2}, [](std::size_t) { return std::vector<int>{}; });
    std::vector<std::atomic<int>> hits(500);
    std::vector<std::size_t> index(500);
    std::iota(index.begin(), index.end(), 0);
    pool.for_each(index,
                  [&](std::vector<int>& seen, std::size_t i) {
                      seen.push_back(static_cast<int>(i));  // per-worker state: no lock needed
                      ++hits[i];
                  },
                  {.batch = 16});
    for (auto& h : hits) CHECK(h.load() == 1);
}

TEST_CASE("map rethrows the first exception and skips the batches not yet started", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t) { return 0; });
    std::vector<int> inputs(10000, 1);
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH(pool.map(inputs,
                               [&](int&, int) -> int {
                                   ++ran;
                                   throw std::runtime_error("input failed");
                               },
                               {.batch = 10}),
                      "input failed");
    CHECK(ran.load() <= 2);  // one per worker can start before the failure is seen
}

TEST_CASE("a stop token cancels a map with operation_cancelled", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t) { return 0; });
    std::stop_source stop;
    std::vector<int> inputs(100000, 1);
    std::atomic<int> ran{0};
    CHECK_THROWS_AS(pool.for_each(inputs,
                                  [&](int&, int) {
                                      if (++ran == 100) stop.request_stop();
                                  },
                                  {.batch = 10}, {.stop = stop.get_token()}),
                    parex::operation_cancelled);
    CHECK(ran.load() < 100000);
}

TEST_CASE("a task that maps on its own pool does not deadlock", "[pool]") {
    for (std::size_t workers : {1u, 2u}) {
        parex::worker_pool<int> pool({.max_concurrency = workers}, [](std::size_t) { return 0; });
        std::vector<int> outer(4, 10), inner(50, 1);
        // Every worker runs an outer task that waits on an inner map: the wait runs queued batches itself.
        const auto sums = pool.map(outer, [&](int&, int) {
            const auto parts = pool.map(inner, [](int&, int x) { return x; }, {.batch = 5});
            return std::accumulate(parts.begin(), parts.end(), 0);
        });
        INFO("workers=" << workers);
        for (const auto s : sums) CHECK(s == 50);
    }
}

TEST_CASE("cancel drops queued tasks whose futures report cancellation", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 1}, [](std::size_t) { return 0; });
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto blocker = pool.submit([gate](int&) { gate.wait(); });
    std::this_thread::sleep_for(20ms);  // let the single worker take the blocker
    std::vector<std::future<int>> queued;
    for (int i = 0; i < 5; ++i) queued.push_back(pool.submit([](int&) { return 1; }));
    CHECK(pool.cancel() == 5);
    release.set_value();
    blocker.get();
    for (auto& f : queued) CHECK_THROWS_AS(f.get(), parex::task_cancelled);
}

TEST_CASE("destruction drains queued work by default and no task runs after it", "[pool]") {
    std::atomic<int> ran{0};
    {
        parex::worker_pool<int> pool({.max_concurrency = 1}, [](std::size_t) { return 0; });
        for (int i = 0; i < 50; ++i)
            (void)pool.submit([&](int&) {
                std::this_thread::sleep_for(100us);
                ++ran;
            });
    }
    CHECK(ran.load() == 50);
    const int after = ran.load();
    std::this_thread::sleep_for(10ms);
    CHECK(ran.load() == after);
}

TEST_CASE("with drain_on_destroy false destruction cancels the queue", "[pool]") {
    std::atomic<int> ran{0};
    std::vector<std::future<void>> futures;
    {
        parex::worker_pool<int> pool({.max_concurrency = 1, .drain_on_destroy = false}, [](std::size_t) { return 0; });
        for (int i = 0; i < 200; ++i)
            futures.push_back(pool.submit([&](int&) {
                std::this_thread::sleep_for(1ms);
                ++ran;
            }));
    }
    CHECK(ran.load() < 200);
    std::size_t cancelled = 0;
    for (auto& f : futures) {
        try {
            f.get();
        } catch (const parex::task_cancelled&) {
            ++cancelled;
        }
    }
    CHECK(cancelled == 200 - static_cast<std::size_t>(ran.load()));
}

TEST_CASE("a stop token requested before the task starts drops it, while running it is seen", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 1}, [](std::size_t) { return 0; });
    SECTION("before") {
        std::stop_source stop;
        stop.request_stop();
        bool ran = false;
        auto f = pool.submit({.stop = stop.get_token()}, [&](int&) { ran = true; });
        CHECK_THROWS_AS(f.get(), parex::task_cancelled);
        CHECK_FALSE(ran);
    }
    SECTION("while running") {
        std::stop_source stop;
        std::atomic<bool> started{false};
        auto f = pool.submit({.stop = stop.get_token()}, [&](int&, std::stop_token token) {
            started = true;
            const auto limit = std::chrono::steady_clock::now() + 20s;
            while (!token.stop_requested() && std::chrono::steady_clock::now() < limit)
                std::this_thread::sleep_for(1ms);
            return token.stop_requested();
        });
        while (!started) std::this_thread::yield();
        stop.request_stop();
        CHECK(f.get());  // the task saw the stop and returned normally
    }
}

TEST_CASE("a deadline times out the future and requests the task's stop", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 1}, [](std::size_t) { return 0; });
    parex_test::check_task_deadline_contract([&](const parex::task_options& options, auto f) {
        if constexpr (std::invocable<decltype(f)&, std::stop_token>)
            return pool.submit(options, [f](int&, std::stop_token stop) mutable { return f(std::move(stop)); });
        else
            return pool.submit(options, [f](int&) mutable { return f(); });
    });
}

TEST_CASE("statistics count tasks, batches, busy and initializer time per worker", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t) {
        std::this_thread::sleep_for(5ms);
        return 0;
    });
    std::vector<int> inputs(40, 0);
    pool.for_each(inputs, [](int&, int) { std::this_thread::sleep_for(200us); }, {.batch = 4});
    std::size_t tasks = 0, batches = 0;
    std::chrono::nanoseconds busy{0};
    for (const auto& w : pool.statistics()) {
        CHECK(w.initializer >= 5ms);
        tasks += w.tasks;
        batches += w.batches;
        busy += w.busy;
    }
    CHECK(tasks == 40);
    CHECK(batches == 10);
    CHECK(busy >= 40 * 200us);
}

TEST_CASE("the worker count defaults to workers_for(cpu_bound)", "[pool]") {
    parex::worker_pool<int> pool([](std::size_t) { return 0; });
    CHECK(pool.max_concurrency() == parex::workers_for(parex::workload::cpu_bound));
}

TEST_CASE("many short maps return only after their last batch let go of the call's state", "[pool]") {
    // The caller's stack holds each call's bookkeeping: a worker that finished the last batch must be
    // done with it before map returns (ThreadSanitizer checks this run in CI).
    parex::worker_pool<int> pool({.max_concurrency = 4}, [](std::size_t) { return 0; });
    const std::vector<int> two{1, 2};
    for (int round = 0; round < 2000; ++round) {
        const auto out = pool.map(two, [](int&, int x) { return x * 3; }, {.batch = 1});
        REQUIRE(out == std::vector<int>{3, 6});
    }
}

TEST_CASE("a task running when destruction starts may still map on its pool", "[pool]") {
    auto pool = std::make_unique<parex::worker_pool<int>>(parex::pool_options{.max_concurrency = 2},
                                                          [](std::size_t) { return 0; });
    auto* raw = pool.get();  // reset() clears `pool` before the destructor runs
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto nested = pool->submit([raw, gate](int&) {
        gate.wait();
        std::this_thread::sleep_for(50ms);  // the destructor has begun by now
        const std::vector<int> inputs(20, 2);
        const auto parts = raw->map(inputs, [](int&, int x) { return x; }, {.batch = 3});
        return std::accumulate(parts.begin(), parts.end(), 0);
    });
    release.set_value();
    pool.reset();  // drains: the running task's nested batches run
    CHECK(nested.get() == 40);
}

TEST_CASE("after destruction has started, other threads cannot submit", "[pool]") {
    auto pool = std::make_unique<parex::worker_pool<int>>(parex::pool_options{.max_concurrency = 1},
                                                          [](std::size_t) { return 0; });
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto blocker = pool->submit([gate](int&) { gate.wait(); });
    auto* raw = pool.get();  // alive until the destructor, which waits for the blocker, returns
    std::thread destroyer([&] { pool.reset(); });
    std::this_thread::sleep_for(20ms);
    CHECK_THROWS_AS(raw->submit([](int&) { return 1; }), std::logic_error);
    release.set_value();
    destroyer.join();
    blocker.get();
}

TEST_CASE("a deadline already past settles with task_timeout and the task never runs", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t) { return 0; });
    std::atomic<int> ran{0};
    for (int i = 0; i < 1000; ++i) {
        auto f = pool.submit({.deadline = std::chrono::steady_clock::now() - 1ms}, [&](int&) { ++ran; });
        CHECK_THROWS_AS(f.get(), parex::task_timeout);
    }
    pool.submit([](int&) {}).get();
    CHECK(ran.load() == 0);
}

TEST_CASE("a task whose deadline passes reports task_timeout, never task_cancelled", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 1}, [](std::size_t) { return 0; });
    for (int round = 0; round < 5; ++round) {
        const auto due = std::chrono::steady_clock::now() + 5ms;
        auto blocker = pool.submit([due](int&) { std::this_thread::sleep_until(due); });
        std::vector<std::future<int>> futures;
        for (int i = 0; i < 300; ++i) futures.push_back(pool.submit({.deadline = due}, [](int&) { return 1; }));
        blocker.get();
        std::size_t timeouts = 0, values = 0;
        for (auto& f : futures) {
            try {
                values += static_cast<std::size_t>(f.get());
            } catch (const parex::task_timeout&) {
                ++timeouts;
            }  // task_cancelled escapes and fails the test
        }
        CHECK(timeouts + values == 300);
    }
}

TEST_CASE("a finished task leaves the deadline watcher at once", "[pool]") {
    parex::worker_pool<int> pool({.max_concurrency = 2}, [](std::size_t) { return 0; });
    const auto far = std::chrono::steady_clock::now() + 1h;
    std::vector<std::future<int>> futures;
    for (int i = 0; i < 20000; ++i) futures.push_back(pool.submit({.deadline = far}, [i](int&) { return i; }));
    long long sum = 0;
    for (auto& f : futures) sum += f.get();
    CHECK(sum == 20000LL * 19999 / 2);
    CHECK(pool.watched_deadlines() == 0);  // nothing held until the deadline, an hour away
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto blocker = pool.submit({.deadline = far}, [gate](int&) { gate.wait(); });
    std::this_thread::sleep_for(10ms);
    CHECK(pool.watched_deadlines() == 1);  // a running task is watched
    release.set_value();
    blocker.get();
    CHECK(pool.watched_deadlines() == 0);
}

TEST_CASE("worker_pool<> runs tasks that take no state", "[pool]") {
    parex::worker_pool<> pool({.max_concurrency = 2});
    CHECK(pool.max_concurrency() == 2);
    CHECK(pool.submit([] { return 5; }).get() == 5);
    CHECK(pool.submit([](int a, int b) { return a * b; }, 6, 7).get() == 42);
    std::stop_source stop;
    CHECK(pool.submit({.stop = stop.get_token()}, [](std::stop_token token) { return token.stop_possible(); }).get());
    const std::vector<int> inputs{1, 2, 3, 4};
    CHECK(pool.map(inputs, [](int x) { return x * x; }) == std::vector<int>{1, 4, 9, 16});
    std::atomic<int> sum{0};
    pool.for_each(inputs, [&](int x) { sum += x; }, {.batch = 2});
    CHECK(sum.load() == 10);
    auto late = pool.submit({.deadline = std::chrono::steady_clock::now() - 1ms}, [] { return 1; });
    CHECK_THROWS_AS(late.get(), parex::task_timeout);
}

TEST_CASE("the pool's names of parex 0.1 still work for one release", "[pool]") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    parex::worker_pool<> pool({.workers = 3});
    CHECK(pool.size() == 3);
    CHECK(pool.max_concurrency() == 3);
    CHECK(pool.cancel_pending() == 0);
#pragma GCC diagnostic pop
}
