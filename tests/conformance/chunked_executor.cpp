// Conformance: parex/chunked_executor.hpp, one test per documented semantic.
#include <parex/chunked_executor.hpp>
#include <parex/records.hpp>

#include "parex_catch.hpp"
#include "task_deadline_contract.hpp"

#include <oneapi/tbb/global_control.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Let arenas of up to 8 threads really have 8 threads on a 2-core machine: oversubscribed on purpose,
// so schedules differ from run to run.
const tbb::global_control allow_oversubscription(tbb::global_control::max_allowed_parallelism, 8);

/// Values whose floating-point sum depends on the order of additions.
std::vector<double> ill_conditioned(std::size_t n) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
    std::uniform_int_distribution<int> exponent(-30, 30);
    std::vector<double> x(n);
    for (auto& v : x) v = std::ldexp(mantissa(rng), exponent(rng));
    return x;
}

double chunk_sum(const std::vector<double>& x, parex::chunk c) {
    double s = 0;
    for (auto i = c.begin; i < c.end; ++i) s += x[i];
    return s;
}

/// A brief, randomly varying delay that scrambles the schedule.
void jitter(std::size_t seed) { std::this_thread::sleep_for(std::chrono::microseconds((seed * 2654435761u) % 200)); }

}  // namespace

TEST_CASE("for_each runs every chunk exactly once", "[executor]") {
    for (std::size_t threads : {1u, 2u, 3u, 8u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        CHECK(ex.max_concurrency() == threads);
        std::vector<std::atomic<int>> hits(10007);
        ex.for_each(parex::chunks(hits.size(), parex::grain{97}), [&](parex::chunk c) {
            for (auto i = c.begin; i < c.end; ++i) hits[i].fetch_add(1);
        });
        for (const auto& h : hits) REQUIRE(h.load() == 1);
    }
}

TEST_CASE("map returns results in chunk order whatever the schedule", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 8});
    const auto plan = parex::chunks(5000, parex::grain{10});
    const auto firsts = ex.map(plan, [](parex::chunk c) {
        jitter(c.index);
        return c.begin;
    });
    REQUIRE(firsts.size() == plan.size());
    for (std::size_t i = 0; i < firsts.size(); ++i) CHECK(firsts[i] == plan[i].begin);
}

TEST_CASE("map works for results that are not default-constructible", "[executor]") {
    struct labelled {
        explicit labelled(std::size_t v) : value(v) {}
        std::size_t value;
    };
    parex::chunked_executor ex({.max_concurrency = 2});
    const auto out = ex.map(parex::chunks(100, parex::grain{7}), [](parex::chunk c) { return labelled(c.index); });
    REQUIRE(out.size() == 15);
    for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i].value == i);
}

TEST_CASE("map_reduce is bitwise identical for 1 2 3 and 8 threads, inline and sequential_map_reduce", "[executor]") {
    const auto x = ill_conditioned(200003);
    const auto plan = parex::chunks(x.size(), parex::grain{1000});
    const auto sum = [&](parex::chunked_executor& ex) {
        return ex.map_reduce(plan, [&](parex::chunk c) { return chunk_sum(x, c); }, std::plus<>{}, 0.0);
    };

    // The documented tree: pairs (0,1) (2,3) ..., then pairs of pairs, then init + root.
    std::vector<double> level;
    for (const auto c : plan) level.push_back(chunk_sum(x, c));
    for (std::size_t stride = 1; stride < level.size(); stride *= 2)
        for (std::size_t i = 0; i + stride < level.size(); i += 2 * stride) level[i] = level[i] + level[i + stride];
    const double expected = 0.0 + level[0];

    parex::chunked_executor inline_ex({.max_concurrency = 4, .sequential_below = x.size() + 1});
    const double inline_sum = sum(inline_ex);
    CHECK(std::memcmp(&inline_sum, &expected, sizeof(double)) == 0);
    const double no_executor =
        parex::sequential_map_reduce(plan, [&](parex::chunk c) { return chunk_sum(x, c); }, std::plus<>{}, 0.0);
    CHECK(std::memcmp(&no_executor, &expected, sizeof(double)) == 0);
    for (std::size_t threads : {1u, 2u, 3u, 8u})
        for (int repeat = 0; repeat < 5; ++repeat) {
            parex::chunked_executor ex({.max_concurrency = threads});
            const double s = sum(ex);
            INFO("threads=" << threads << " repeat=" << repeat);
            CHECK(std::memcmp(&s, &expected, sizeof(double)) == 0);
        }
}

TEST_CASE("map_reduce keeps chunk order for a non-commutative reduce", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 8});
    const auto plan = parex::chunks(26 * 40, parex::grain{26});
    const auto text = ex.map_reduce(
        plan,
        [](parex::chunk c) {
            jitter(c.index);
            return std::string(1, static_cast<char>('a' + c.index % 26));
        },
        [](std::string a, const std::string& b) { return a + b; }, std::string(">"));
    std::string expected = ">";
    for (const auto c : plan) expected += static_cast<char>('a' + c.index % 26);
    CHECK(text == expected);
}

TEST_CASE("below sequential_below everything runs inline on the caller and in order", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 8, .sequential_below = 1000});
    const auto caller = std::this_thread::get_id();
    std::vector<std::size_t> order;
    ex.for_each(parex::chunks(999, parex::grain{10}), [&](parex::chunk c) {
        CHECK(std::this_thread::get_id() == caller);
        order.push_back(c.index);  // no lock: a data race here would mean the path is not inline
    });
    REQUIRE(order.size() == 100);
    for (std::size_t i = 0; i < order.size(); ++i) CHECK(order[i] == i);
}

TEST_CASE("at or above sequential_below chunks run concurrently", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 2, .sequential_below = 1000});
    std::mutex m;
    std::condition_variable cv;
    int arrived = 0;
    bool met = true;
    // Each of the two chunks waits for the other: they can only both finish if they overlap.
    ex.for_each(parex::chunks(1000, parex::chunk_count{2}), [&](parex::chunk) {
        std::unique_lock lock(m);
        ++arrived;
        cv.notify_all();
        met = cv.wait_for(lock, 20s, [&] { return arrived == 2; }) && met;
    });
    CHECK(met);
}

TEST_CASE("no more than max_concurrency chunks run at once", "[executor]") {
    for (std::size_t limit : {1u, 2u, 3u}) {
        parex::chunked_executor ex({.max_concurrency = limit});
        std::atomic<std::size_t> running{0}, peak{0};
        ex.for_each(parex::chunks(64, parex::grain{1}), [&](parex::chunk c) {
            const auto now = ++running;
            auto seen = peak.load();
            while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
            jitter(c.index + 1);
            --running;
        });
        INFO("limit=" << limit);
        CHECK(peak.load() <= limit);
        CHECK(peak.load() >= 1);
    }
}

TEST_CASE("the first exception is rethrown and chunks not yet started are skipped", "[executor]") {
    SECTION("inline: exactly the chunks before the failing one ran") {
        parex::chunked_executor ex({.sequential_below = 1 << 20});
        std::size_t ran = 0;
        CHECK_THROWS_WITH(ex.for_each(parex::chunks(100, parex::grain{1}),
                                      [&](parex::chunk c) {
                                          ++ran;
                                          if (c.index == 5) throw std::runtime_error("chunk 5 failed");
                                      }),
                          "chunk 5 failed");
        CHECK(ran == 6);
    }
    SECTION("parallel: at most one chunk per thread starts before the failure is seen") {
        parex::chunked_executor ex({.max_concurrency = 3});
        std::atomic<int> ran{0};
        try {
            ex.for_each(parex::chunks(1000, parex::grain{1}), [&](parex::chunk c) {
                ++ran;
                throw std::out_of_range("chunk " + std::to_string(c.index));
            });
            FAIL("expected an exception");
        } catch (const std::out_of_range& e) {
            CHECK(std::string(e.what()).starts_with("chunk "));
        }
        CHECK(ran.load() <= 3);
    }
}

TEST_CASE("a running chunk sees its stop token requested when a sibling fails", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::atomic<bool> saw_stop{false};
    CHECK_THROWS_AS(ex.for_each(parex::chunks(2, parex::grain{1}),
                                [&](parex::chunk c, std::stop_token stop) {
                                    if (c.index == 1) {
                                        std::this_thread::sleep_for(10ms);
                                        throw std::logic_error("sibling");
                                    }
                                    const auto deadline = std::chrono::steady_clock::now() + 20s;
                                    while (!stop.stop_requested() && std::chrono::steady_clock::now() < deadline)
                                        std::this_thread::sleep_for(1ms);
                                    saw_stop = stop.stop_requested();
                                }),
                    std::logic_error);
    CHECK(saw_stop.load());
}

TEST_CASE("a stop request cancels the call with operation_cancelled", "[executor]") {
    SECTION("requested before the call: nothing runs") {
        std::stop_source stop;
        stop.request_stop();
        parex::chunked_executor ex({.max_concurrency = 2});
        std::atomic<int> ran{0};
        try {
            ex.for_each(parex::chunks(10, parex::grain{1}), [&](parex::chunk) { ++ran; }, {.stop = stop.get_token()});
            FAIL("expected operation_cancelled");
        } catch (const parex::operation_cancelled& e) {
            CHECK(e.done() == 0);
            CHECK(e.total() == 10);
        }
        CHECK(ran.load() == 0);
    }
    SECTION("requested by chunk 3 of an inline run: chunks 0..3 ran") {
        std::stop_source stop;
        parex::chunked_executor ex({.sequential_below = 1 << 20});
        std::size_t ran = 0;
        try {
            ex.map(parex::chunks(10, parex::grain{1}),
                   [&](parex::chunk c) {
                       ++ran;
                       if (c.index == 3) stop.request_stop();
                       return c.index;
                   },
                   {.stop = stop.get_token()});
            FAIL("expected operation_cancelled");
        } catch (const parex::operation_cancelled& e) {
            CHECK(e.done() == 4);
        }
        CHECK(ran == 4);
    }
    SECTION("requested during the last chunk: the work is complete, so no exception") {
        std::stop_source stop;
        parex::chunked_executor ex({.sequential_below = 1 << 20});
        const auto out = ex.map(parex::chunks(4, parex::grain{1}),
                                [&](parex::chunk c) {
                                    if (c.index == 3) stop.request_stop();
                                    return c.index;
                                },
                                {.stop = stop.get_token()});
        CHECK(out.size() == 4);
    }
    SECTION("requested from another thread while running") {
        std::stop_source stop;
        parex::chunked_executor ex({.max_concurrency = 2});
        std::atomic<int> ran{0};
        std::jthread stopper([&] {
            while (ran.load() < 10) std::this_thread::yield();
            stop.request_stop();
        });
        CHECK_THROWS_AS(ex.for_each(parex::chunks(100000, parex::grain{1}),
                                    [&](parex::chunk) {
                                        ++ran;
                                        std::this_thread::sleep_for(50us);
                                    },
                                    {.stop = stop.get_token()}),
                        parex::operation_cancelled);
        CHECK(ran.load() < 100000);
    }
}

TEST_CASE("progress is monotonic and never concurrent and reported once at the end", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 8});
    std::vector<parex::progress> reports;
    std::atomic<bool> inside{false};
    bool overlapped = false;
    ex.for_each(parex::chunks(400, parex::grain{1}), [](parex::chunk c) { jitter(c.index); },
                {.on_progress =
                     [&](parex::progress p) {
                         overlapped = overlapped || inside.exchange(true);
                         reports.push_back(p);
                         inside = false;
                     },
                 .progress_interval = 1ms});
    CHECK_FALSE(overlapped);
    REQUIRE(!reports.empty());
    for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);
    for (const auto& r : reports) CHECK(r.total == 400);
    CHECK(reports.back().done == 400);
}

TEST_CASE("progress honours its interval: a long interval leaves only the final report", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    int calls = 0;
    parex::progress last;
    ex.for_each(parex::chunks(100, parex::grain{1}), [](parex::chunk) {},
                {.on_progress = [&](parex::progress p) { ++calls, last = p; }, .progress_interval = 1h});
    CHECK(calls == 1);
    CHECK(last.done == 100);
}

TEST_CASE("progress reports the final count of a cancelled run", "[executor]") {
    std::stop_source stop;
    parex::chunked_executor ex({.sequential_below = 1 << 20});
    parex::progress last{99, 99};
    CHECK_THROWS_AS(ex.for_each(parex::chunks(10, parex::grain{1}),
                                [&](parex::chunk c) {
                                    if (c.index == 1) stop.request_stop();
                                },
                                {.stop = stop.get_token(), .on_progress = [&](parex::progress p) { last = p; }}),
                    parex::operation_cancelled);
    CHECK(last.done == 2);
    CHECK(last.total == 10);
}

TEST_CASE("a chunk may call the same executor again without deadlock", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::atomic<std::size_t> leaves{0};
    ex.for_each(parex::chunks(8, parex::grain{1}),
                [&](parex::chunk) { ex.for_each(parex::chunks(8, parex::grain{1}), [&](parex::chunk) { ++leaves; }); });
    CHECK(leaves.load() == 64);
}

TEST_CASE("one executor serves several calling threads at once", "[executor]") {
    parex::chunked_executor ex({.max_concurrency = 3});
    std::vector<std::size_t> sums(4);
    {
        std::vector<std::jthread> callers;
        for (std::size_t t = 0; t < sums.size(); ++t)
            callers.emplace_back([&, t] {
                sums[t] = ex.map_reduce(
                    parex::chunks(10000 * (t + 1), parex::grain{100}), [](parex::chunk c) { return c.size(); },
                    std::plus<>{}, std::size_t{0});
            });
    }
    for (std::size_t t = 0; t < sums.size(); ++t) CHECK(sums[t] == 10000 * (t + 1));
}

TEST_CASE("byte plans run through the executor: a line count", "[executor]") {
    std::string text;
    for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
    parex::chunked_executor ex({.max_concurrency = 3});
    const auto plan = parex::split_bytes(text, 1000, parex::after_delimiter("\n"));
    const auto lines = ex.map_reduce(
        plan, [](const parex::byte_chunk& c) { return static_cast<std::size_t>(std::ranges::count(c.bytes, '\n')); },
        std::plus<>{}, std::size_t{0});
    CHECK(lines == 5000);
    const auto first_words = ex.map(plan, [](const parex::byte_chunk& c) { return c.bytes.substr(0, 4); });
    for (const auto w : first_words) CHECK(w == "line");  // every chunk starts at a line
}

TEST_CASE("a user plan is any random-access sequence of chunks and may be empty", "[executor]") {
    struct odd_elements_plan {  // chunks over the odd indices of [0, 2n): gaps are the user's choice
        std::size_t n;
        std::size_t size() const { return n; }
        std::size_t input_size() const { return 2 * n; }
        parex::chunk operator[](std::size_t i) const { return {i, 2 * i + 1, 2 * i + 2}; }
    };
    parex::chunked_executor ex({.max_concurrency = 2});
    CHECK(ex.map_reduce(
              odd_elements_plan{100}, [](parex::chunk c) { return c.begin; }, std::plus<>{}, std::size_t{0}) ==
          100 * 100);
    CHECK(ex.map_reduce(
              odd_elements_plan{0}, [](parex::chunk c) { return c.begin; }, std::plus<>{}, std::size_t{7}) == 7);
    CHECK(ex.map(odd_elements_plan{0}, [](parex::chunk c) { return c.begin; }).empty());
}

// --- the index form, the default executor and the one-line forms ------------------------------------

TEST_CASE("the automatic grain depends on n alone and gives at most 1024 chunks", "[executor][one-line]") {
    CHECK(parex::automatic_grain(0) == 1);
    CHECK(parex::automatic_grain(1024) == 1);
    CHECK(parex::automatic_grain(1025) == 2);
    CHECK(parex::automatic_grain(10'000'000) == 9766);
    for (std::size_t n : {0u, 1u, 1023u, 1024u, 1025u, 99'999u, 10'000'000u}) {
        const auto plan = parex::chunks(n);
        INFO("n=" << n);
        CHECK(plan.size() <= parex::automatic_chunk_limit);
        CHECK(plan.input_size() == n);
        CHECK(plan[plan.size() - 1].end == n);
    }
}

TEST_CASE("for_each(n, f) calls f once for every index", "[executor][one-line]") {
    for (std::size_t n : {0u, 1u, 1000u, 123'457u}) {
        std::vector<std::atomic<int>> calls(n);
        parex::for_each(n, [&](std::size_t i) { ++calls[i]; });
        parex::chunked_executor ex({.max_concurrency = 3});
        ex.for_each(n, [&](std::size_t i) { ++calls[i]; });
        INFO("n=" << n);
        for (std::size_t i = 0; i < n; ++i) REQUIRE(calls[i].load() == 2);
    }
}

TEST_CASE("default_executor is one process-wide executor sized by workers_for(cpu_bound)", "[executor][one-line]") {
    auto& ex = parex::default_executor();
    CHECK(&ex == &parex::default_executor());
    CHECK(ex.max_concurrency() == parex::workers_for(parex::workload::cpu_bound));
    // tests/CMakeLists.txt runs this case again with PAREX_NUM_THREADS=3.
    if (const char* env = std::getenv("PAREX_NUM_THREADS")) CHECK(ex.max_concurrency() == std::stoul(env));
    std::set<const parex::chunked_executor*> seen;
    std::mutex m;
    std::vector<std::jthread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            const auto* p = &parex::default_executor();
            std::lock_guard lock(m);
            seen.insert(p);
        });
    threads.clear();
    CHECK(seen.size() == 1);
    CHECK(seen.count(&ex) == 1);
}

TEST_CASE("the one-line map_reduce is bitwise identical on executors of 1 2 3 and 8 threads", "[executor][one-line]") {
    const auto x = ill_conditioned(1'000'003);
    const auto plan = parex::chunks(x.size());  // the automatic grain: the same plan on every machine
    const auto leaf = [&](parex::chunk c) {
        jitter(c.index % 7);
        return chunk_sum(x, c);
    };
    const double reference = parex::map_reduce(plan, leaf, std::plus<>{}, 0.0);
    std::vector<double> level;
    for (const auto c : plan) level.push_back(chunk_sum(x, c));
    for (std::size_t stride = 1; stride < level.size(); stride *= 2)
        for (std::size_t i = 0; i + stride < level.size(); i += 2 * stride) level[i] = level[i] + level[i + stride];
    const double expected = 0.0 + level[0];
    CHECK(std::memcmp(&reference, &expected, sizeof(double)) == 0);
    for (std::size_t threads : {1u, 2u, 3u, 8u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        const double s = ex.map_reduce(plan, leaf, std::plus<>{}, 0.0);
        INFO("threads=" << threads);
        CHECK(std::memcmp(&s, &reference, sizeof(double)) == 0);
    }
}

// --- tasks: submit, run / wait / cancel ----------------------------------------------------------------

TEST_CASE("executor submit returns a future with the value or the exception", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    auto value = ex.submit([] { return 42; });
    auto error = ex.submit([]() -> int { throw std::domain_error("task failed"); });
    auto nothing = ex.submit([] {});
    CHECK(value.get() == 42);
    CHECK_THROWS_AS(error.get(), std::domain_error);
    nothing.get();
    CHECK(parex::submit([] { return std::string("default"); }).get() == "default");
}

TEST_CASE("submitted tasks run at most max_concurrency at once", "[executor][tasks]") {
    for (std::size_t limit : {1u, 3u}) {
        parex::chunked_executor ex({.max_concurrency = limit});
        std::atomic<std::size_t> running{0}, peak{0};
        std::vector<parex::task_future<void>> futures;
        for (std::size_t i = 0; i < 60; ++i)
            futures.push_back(ex.submit([&, i] {
                const auto now = ++running;
                auto seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
                jitter(i + 1);
                --running;
            }));
        for (auto& f : futures) f.get();  // a task not yet started runs on this thread, within the bound
        INFO("limit=" << limit);
        CHECK(peak.load() <= limit);
        CHECK(peak.load() >= 1);
    }
}

/// A task that holds an executor's slot until finish(): what queues the next task behind it.
struct blocking_task {
    explicit blocking_task(parex::chunked_executor& ex) {
        auto gate = release.get_future().share();
        future = ex.submit([this, gate] {
            started = true;
            gate.wait();
        });
        while (!started) std::this_thread::yield();
    }
    void finish() {
        release.set_value();
        future.get();
    }
    std::promise<void> release;
    std::atomic<bool> started{false};
    parex::task_future<void> future;
};

TEST_CASE("a submitted task whose stop was requested before it started never runs", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    SECTION("requested before submit") {
        std::stop_source stop;
        stop.request_stop();
        bool ran = false;
        auto f = ex.submit({.stop = stop.get_token()}, [&] { ran = true; });
        CHECK_THROWS_AS(f.get(), parex::task_cancelled);
        CHECK_FALSE(ran);
    }
    SECTION("requested while queued behind a running task, which sees its own stop") {
        blocking_task blocker(ex);
        std::stop_source stop;
        std::atomic<bool> ran{false};
        auto queued = ex.submit({.stop = stop.get_token()}, [&] { ran = true; });
        stop.request_stop();
        blocker.finish();
        CHECK_THROWS_AS(queued.get(), parex::task_cancelled);
        CHECK_FALSE(ran.load());
    }
    SECTION("a task that takes a stop token sees a stop requested while it runs") {
        std::stop_source stop;
        std::atomic<bool> started{false};
        auto f = ex.submit({.stop = stop.get_token()}, [&](std::stop_token token) {
            started = true;
            const auto limit = std::chrono::steady_clock::now() + 20s;
            while (!token.stop_requested() && std::chrono::steady_clock::now() < limit)
                std::this_thread::sleep_for(1ms);
            return token.stop_requested();
        });
        while (!started) std::this_thread::yield();
        stop.request_stop();
        CHECK(f.get());
    }
}

TEST_CASE("a submitted task's deadline times out its future and requests its stop", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    parex_test::check_task_deadline_contract(
        [&](const parex::task_options& options, auto f) { return ex.submit(options, std::move(f)); });
}

TEST_CASE("the executor's submit(f, stop) of parex 0.1 still works for one release", "[executor][tasks]") {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    parex::chunked_executor ex({.max_concurrency = 1});
    std::stop_source stop;
    stop.request_stop();
    CHECK_THROWS_AS(ex.submit([] { return 1; }, stop.get_token()).get(), parex::task_cancelled);
    CHECK(parex::submit([] { return 2; }, std::stop_token{}).get() == 2);
#pragma GCC diagnostic pop
}

TEST_CASE("run and wait: every task runs once and wait returns after the last", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 3});
    std::vector<std::atomic<int>> calls(500);
    for (std::size_t i = 0; i < calls.size(); ++i)
        ex.run([&, i] {
            jitter(i % 5);
            ++calls[i];
        });
    ex.wait();
    for (auto& c : calls) REQUIRE(c.load() == 1);
    // The group is reusable, and tasks may add tasks.
    std::atomic<int> nested{0};
    ex.run([&] {
        for (int i = 0; i < 10; ++i) ex.run([&] { ++nested; });
    });
    ex.wait();
    CHECK(nested.load() == 10);
}

TEST_CASE("every run task starts without a wait, however run calls and idle drainers interleave", "[executor][tasks]") {
    // Two threads each queue bursts of tasks and watch, without wait(), for each burst to have run
    // before the next: the queue empties and the drainers leave between bursts, so every burst's last
    // push is one that may meet the last drainer leaving. A task left with no drainer never runs.
    for (const std::size_t size : {1u, 2u, 3u}) {
        parex::chunked_executor ex({.max_concurrency = size});
        constexpr int per_thread = 20'000;
        std::atomic<int> stranded{0};
        const auto produce = [&](unsigned seed) {
            std::mt19937 rng(seed);
            std::atomic<int> ran{0};
            for (int queued = 0; queued < per_thread;) {
                const int burst = static_cast<int>(rng() % 8) + 1;
                for (int k = 0; k < burst && queued < per_thread; ++k, ++queued)
                    ex.run([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
                const auto deadline = std::chrono::steady_clock::now() + 10s;
                while (ran.load() < queued)
                    if (std::chrono::steady_clock::now() > deadline) {
                        ++stranded;
                        ex.wait();  // runs them: the round ends; the failure is counted
                    } else {
                        std::this_thread::yield();
                    }
            }
        };
        std::thread other(produce, 1u);
        produce(2u);
        other.join();
        INFO("executor of " << size);
        CHECK(stranded.load() == 0);
        ex.wait();
    }
}

TEST_CASE("a task queues more tasks than the run queue's ring holds, on an executor of one", "[executor][tasks]") {
    // The only thread that could run them is the one queueing them: run() must not wait for room.
    // One producer and one thread running them: they run in the order they were queued.
    parex::chunked_executor ex({.max_concurrency = 1});
    constexpr int count = 5'000;  // the ring holds 1024
    std::vector<int> order;
    ex.run([&] {
        for (int i = 0; i < count; ++i) ex.run([&order, i] { order.push_back(i); });
    });
    ex.wait();
    REQUIRE(order.size() == static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) REQUIRE(order[static_cast<std::size_t>(i)] == i);
}

TEST_CASE("run keeps tasks of any size and drops the queued ones it never runs", "[executor][tasks]") {
    // Small trivially copyable tasks live in the queue, others on the heap: both run, and both are
    // released when cancel() drops them, from the ring and from the overflow behind it (ASan's leak
    // check sees a task that is not released; the shared_ptr's count here sees it too).
    constexpr int each = 1'500;  // of each kind: 3,000 queued overflow the ring of 1024
    parex::chunked_executor ex({.max_concurrency = 1});
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::atomic<bool> started{false};
    auto shared = std::make_shared<std::string>(200, 'x');  // owned by the heap tasks' captures
    std::atomic<std::size_t> seen{0};
    ex.run([&, gate] {
        started = true;
        gate.wait();
    });
    while (!started) std::this_thread::yield();
    for (int i = 0; i < each; ++i) {
        ex.run([&seen] { ++seen; });                          // in the queue's cell
        ex.run([&seen, shared] { seen += shared->size(); });  // on the heap
    }
    CHECK(shared.use_count() == each + 1);
    ex.cancel();
    release.set_value();
    CHECK_THROWS_AS(ex.wait(), parex::operation_cancelled);
    CHECK(shared.use_count() == 1);
    CHECK(seen.load() == 0);
    for (int i = 0; i < each; ++i) {
        ex.run([&seen] { ++seen; });
        ex.run([&seen, shared] { seen += shared->size(); });
    }
    ex.wait();
    CHECK(seen.load() == each * 201u);
    CHECK(shared.use_count() == 1);
}

TEST_CASE("wait rethrows the first exception of a run task, and tasks not started are dropped", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::atomic<int> ran{0};
    ex.run([] { throw std::length_error("task 0 failed"); });
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 1000; ++i)
        ex.run([&] {
            std::this_thread::sleep_for(100us);
            ++ran;
        });
    CHECK_THROWS_AS(ex.wait(), std::length_error);
    CHECK(ran.load() < 1000);
    // The next round starts clean.
    ex.run([&] { ran = -1; });
    ex.wait();
    CHECK(ran.load() == -1);
}

TEST_CASE("cancel drops run tasks not started and wait reports operation_cancelled", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 1});
    std::promise<void> release;
    auto gate = release.get_future().share();
    std::atomic<bool> started{false};
    std::atomic<int> ran{0};
    ex.run([&, gate] {
        started = true;
        gate.wait();
        ++ran;
    });
    while (!started) std::this_thread::yield();
    for (int i = 0; i < 10; ++i) ex.run([&] { ++ran; });
    ex.cancel();
    release.set_value();
    try {
        ex.wait();
        FAIL("expected operation_cancelled");
    } catch (const parex::operation_cancelled& e) {
        CHECK(e.total() == 11);
        CHECK(e.done() == 1);
    }
    CHECK(ran.load() == 1);
    ex.run([&] { ++ran; });
    ex.wait();  // a new round is not cancelled
    CHECK(ran.load() == 2);
}

TEST_CASE("the destructor waits for run and submit tasks", "[executor][tasks]") {
    std::atomic<int> ran{0};
    {
        parex::chunked_executor ex({.max_concurrency = 2});
        for (int i = 0; i < 50; ++i) {
            ex.run([&] {
                std::this_thread::sleep_for(200us);
                ++ran;
            });
            (void)ex.submit([&] {
                std::this_thread::sleep_for(200us);
                ++ran;
            });
        }
    }
    CHECK(ran.load() == 100);
}

TEST_CASE("chunks, stages and tasks of one executor share its arena", "[executor][tasks]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::atomic<std::size_t> running{0}, peak{0};
    const auto busy = [&](std::size_t seed) {
        const auto now = ++running;
        auto seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
        jitter(seed + 1);
        --running;
    };
    for (std::size_t i = 0; i < 20; ++i) ex.run([&, i] { busy(i); });
    ex.for_each(parex::chunks(40, parex::grain{1}), [&](parex::chunk c) { busy(c.index); });
    ex.wait();
    CHECK(peak.load() <= 2);
}

TEST_CASE("an executor reuses the arena of a destroyed executor of its size and never one in use", "[executor]") {
    const auto arena_of = [](parex::chunked_executor& ex) { return &parex::detail::core_of(ex).arena; };
    tbb::task_arena* first = nullptr;
    {
        parex::chunked_executor a({.max_concurrency = 3});
        first = arena_of(a);
    }
    // Had the arena been freed, this would most likely take its memory, and b would get another address.
    const auto occupant = std::make_unique<tbb::task_arena>(3);
    parex::chunked_executor b({.max_concurrency = 3});
    CHECK(arena_of(b) == first);  // handed on, not destroyed
    parex::chunked_executor c({.max_concurrency = 3});
    CHECK(arena_of(c) != first);  // b still holds it
    parex::chunked_executor d({.max_concurrency = 5});
    CHECK(arena_of(d) != first);
    CHECK(arena_of(d) != arena_of(c));
    CHECK(d.max_concurrency() == 5);
    CHECK(arena_of(d)->max_concurrency() == 5);

    // A reused arena runs work as a new one does, tasks and chunks alike.
    parex::chunked_executor e(std::move(b));
    std::atomic<int> ran{0};
    for (int i = 0; i < 10; ++i) e.run([&] { ++ran; });
    e.wait();
    e.for_each(parex::chunks(100, parex::grain{1}), [&](parex::chunk) { ++ran; });
    CHECK(ran.load() == 110);
}

TEST_CASE("executors made and destroyed on several threads at once each run their own work", "[executor][tasks]") {
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                parex::chunked_executor ex({.max_concurrency = static_cast<std::size_t>(1 + (t + i) % 3)});
                const auto sum = ex.map_reduce(
                    parex::chunks(64, parex::grain{4}),
                    [](parex::chunk c) { return (c.begin + c.end - 1) * (c.end - c.begin) / 2; }, std::plus<>{},
                    std::size_t{0});
                if (sum != 64 * 63 / 2) ++wrong;
                const auto caller = std::this_thread::get_id();
                ex.for_each(parex::chunks(8, parex::grain{1}), [&](parex::chunk) {
                    if (ex.max_concurrency() == 1) {  // serial: on the calling thread
                        if (std::this_thread::get_id() != caller) ++wrong;
                    } else if (tbb::this_task_arena::max_concurrency() != static_cast<int>(ex.max_concurrency())) {
                        ++wrong;
                    }
                });
                auto done = ex.submit([] { return 1; });
                if (done.get() != 1) ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(wrong.load() == 0);
}
