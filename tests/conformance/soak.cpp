// Soak: the worker pool and map_reduce under sustained mixed load. PAREX_SOAK_TASKS sets the number of
// pool tasks (default 100,000, which CI runs under every configuration; run with 1000000 or more by
// hand). Leaks are LeakSanitizer's to find (the asan preset); here: every task settles exactly once
// as it should, and resident memory stays flat once warm.
#include <parex/chunked_executor.hpp>
#include <parex/worker_pool.hpp>

#include "parex_catch.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <numeric>
#include <stop_token>
#include <string>
#include <vector>

namespace {

std::size_t soak_tasks() {
    const char* text = std::getenv("PAREX_SOAK_TASKS");
    return text ? std::stoul(text) : 100'000;
}

/// Resident set size, bytes (/proc/self/statm).
std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitized = true;  // the sanitizers' own bookkeeping (quarantine, shadow) grows resident memory
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif
#else
constexpr bool sanitized = false;
#endif

}  // namespace

TEST_CASE("soak: mixed pool tasks and map_reduce calls settle exactly once, with flat resident memory", "[soak]") {
    using namespace std::chrono_literals;
    const std::size_t total = soak_tasks(), per_round = 1000, rounds = std::max<std::size_t>(total / per_round, 10);
    parex::worker_pool<std::size_t> pool({.max_concurrency = 3}, [](std::size_t worker) { return worker; });
    parex::chunked_executor executor({.max_concurrency = 2});
    std::vector<double> data(50'000);
    std::iota(data.begin(), data.end(), 0.0);
    const double expected_sum = parex::map_reduce(
        parex::chunks(data.size()),
        [&](parex::chunk c) {
            return std::accumulate(data.begin() + static_cast<std::ptrdiff_t>(c.begin),
                                   data.begin() + static_cast<std::ptrdiff_t>(c.end), 0.0);
        },
        std::plus<>{}, 0.0);

    std::size_t warm = 0, ran = 0, timed_out = 0, cancelled = 0;
    for (std::size_t round = 0; round < rounds; ++round) {
        std::vector<std::future<std::size_t>> futures;
        std::stop_source stop;
        for (std::size_t i = 0; i < per_round / 2; ++i) {
            if (i % 10 == 3)  // a deadline already past: settles at once with task_timeout, never runs
                futures.push_back(pool.submit({.deadline = std::chrono::steady_clock::now() - 1ms},
                                              [](std::size_t&) { return std::size_t{1}; }));
            else if (i % 10 == 7)  // stopped before it starts
                futures.push_back(pool.submit({.stop = stop.get_token()}, [](std::size_t&) { return std::size_t{1}; }));
            else
                futures.push_back(pool.submit([](std::size_t&, std::size_t x) { return x + 1; }, i));
        }
        stop.request_stop();
        if (round % 7 == 0) (void)pool.cancel();  // some queued tasks dropped: task_cancelled
        std::vector<std::size_t> inputs(per_round / 2);
        std::iota(inputs.begin(), inputs.end(), std::size_t{0});
        const auto doubled = pool.map(inputs, [](std::size_t&, std::size_t x) { return 2 * x; }, {.batch = 16});
        for (std::size_t i = 0; i < doubled.size(); ++i) REQUIRE(doubled[i] == 2 * i);
        for (std::size_t i = 0; i < futures.size(); ++i) {
            try {
                const auto v = futures[i].get();
                REQUIRE(i % 10 != 3);
                REQUIRE(v == (i % 10 == 7 ? 1 : i + 1));  // a stopped task may have started before the stop
                ++ran;
            } catch (const parex::task_timeout&) {
                REQUIRE(i % 10 == 3);
                ++timed_out;
            } catch (const parex::task_cancelled&) {
                REQUIRE(i % 10 != 3);
                ++cancelled;
            }
        }
        const double sum = executor.map_reduce(
            parex::chunks(data.size()),
            [&](parex::chunk c) {
                return std::accumulate(data.begin() + static_cast<std::ptrdiff_t>(c.begin),
                                       data.begin() + static_cast<std::ptrdiff_t>(c.end), 0.0);
            },
            std::plus<>{}, 0.0);
        REQUIRE(sum == expected_sum);  // the same bits on 2 threads as on the default executor
        if (round == rounds / 4) warm = resident_bytes();
    }
    CHECK(ran + timed_out + cancelled == rounds * (per_round / 2));
    CHECK(timed_out == rounds * (per_round / 20));
    CHECK(pool.watched_deadlines() == 0);
    const auto end = resident_bytes();
    INFO("resident after a quarter of the rounds " << warm << " bytes, at the end " << end);
    if (!sanitized) CHECK(end <= warm + (std::size_t{16} << 20));
}

TEST_CASE("soak: executors made and destroyed one after another keep resident memory flat", "[soak]") {
    // oneTBB keeps memory for every arena its workers served once the arena is destroyed; executors hand
    // their arenas on (detail::arena_pool), so making one per call costs nothing that accumulates.
    constexpr std::size_t executors = 20'000;
    std::size_t warm = 0, wrong = 0;
    for (std::size_t i = 0; i < executors; ++i) {
        parex::chunked_executor executor({.max_concurrency = 2});
        const auto sum = executor.map_reduce(
            parex::chunks(64, parex::grain{8}), [](parex::chunk c) { return c.end - c.begin; }, std::plus<>{},
            std::size_t{0});
        if (sum != 64) ++wrong;
        if (i == executors / 4) warm = resident_bytes();
    }
    CHECK(wrong == 0);
    const auto end = resident_bytes();
    INFO("resident after " << executors / 4 << " executors " << warm << " bytes, after " << executors << " " << end);
    if (!sanitized) CHECK(end <= warm + (std::size_t{16} << 20));
}
