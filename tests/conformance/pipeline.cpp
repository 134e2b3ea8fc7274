// Conformance: parex/pipeline.hpp: order, in-flight bound, exceptions, cancellation, progress.
#include <parex/pipeline.hpp>
#include <parex/worker_local.hpp>

#include "parex_catch.hpp"

#include <oneapi/tbb/global_control.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

namespace {

const tbb::global_control allow_oversubscription(tbb::global_control::max_allowed_parallelism, 8);

/// A source of 0, 1, ..., n-1 that counts how often it was called.
struct counting_source {
    std::size_t n;
    std::size_t next = 0;
    std::size_t* calls;
    std::optional<std::size_t> operator()() {
        ++*calls;
        if (next == n) return std::nullopt;
        return next++;
    }
};

void jitter(std::size_t seed) { std::this_thread::sleep_for(std::chrono::microseconds((seed * 2654435761u) % 300)); }

}  // namespace

TEST_CASE("the sink sees every result in the source's order", "[pipeline]") {
    for (std::size_t threads : {1u, 2u, 8u}) {
        std::size_t calls = 0;
        std::vector<std::size_t> seen;
        parex::chunked_executor ex({.max_concurrency = threads});
        const auto consumed = parex::run_pipeline(
            ex, counting_source{3000, 0, &calls},
            [](std::size_t i) {
                jitter(i);
                return i * i;
            },
            [&](std::size_t square) { seen.push_back(square); });
        INFO("threads=" << threads);
        CHECK(consumed == 3000);
        REQUIRE(seen.size() == 3000);
        for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i * i);
        CHECK(calls == 3001);  // the last call returned nullopt
    }
}

TEST_CASE("no more than max_in_flight items live between source and sink", "[pipeline]") {
    for (std::size_t limit : {1u, 3u, 8u}) {
        std::atomic<std::size_t> alive{0}, peak{0};
        std::size_t produced = 0;
        parex::chunked_executor ex({.max_concurrency = 8});
        parex::run_pipeline(
            ex,
            [&]() -> std::optional<std::size_t> {
                if (produced == 500) return std::nullopt;
                const auto now = ++alive;
                auto seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
                return produced++;
            },
            [](std::size_t i) {
                jitter(i);
                return i;
            },
            [&](std::size_t) { --alive; }, {.max_in_flight = limit});
        INFO("limit=" << limit);
        CHECK(peak.load() <= limit);
        CHECK(peak.load() >= 1);
    }
}

TEST_CASE("move-only items and results pass through", "[pipeline]") {
    int next = 0;
    int total = 0;
    parex::run_pipeline(
        [&]() -> std::optional<std::unique_ptr<int>> {
            if (next == 100) return std::nullopt;
            return std::make_unique<int>(next++);
        },
        [](std::unique_ptr<int> p) { return std::make_unique<long>(*p * 2L); },
        [&](std::unique_ptr<long> p) { total += static_cast<int>(*p); });
    CHECK(total == 9900);
}

TEST_CASE("an empty stream consumes nothing and reports once", "[pipeline]") {
    int reports = 0;
    const auto consumed =
        parex::run_pipeline([]() -> std::optional<int> { return std::nullopt; }, [](int x) { return x; },
                            [](int) { FAIL("sink called"); }, {}, {.on_progress = [&](parex::progress p) {
                                ++reports;
                                CHECK(p.done == 0);
                                CHECK(p.total == 0);
                            }});
    CHECK(consumed == 0);
    CHECK(reports == 1);
}

TEST_CASE("the first exception from any stage is rethrown and the stream stops", "[pipeline]") {
    SECTION("transform") {
        std::size_t calls = 0;
        std::vector<std::size_t> seen;
        CHECK_THROWS_WITH(parex::run_pipeline(
                              counting_source{100000, 0, &calls},
                              [](std::size_t i) {
                                  if (i == 50) throw std::runtime_error("item 50");
                                  return i;
                              },
                              [&](std::size_t i) { seen.push_back(i); }, {.max_in_flight = 4}),
                          "item 50");
        CHECK(calls < 100000);
        for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i);  // in order, and all before 50
        CHECK(seen.size() <= 50);
    }
    SECTION("source") {
        int next = 0;
        CHECK_THROWS_AS(parex::run_pipeline(
                            [&]() -> std::optional<int> {
                                if (next == 7) throw std::length_error("source broke");
                                return next++;
                            },
                            [](int x) { return x; }, [](int) {}),
                        std::length_error);
    }
    SECTION("sink") {
        std::size_t calls = 0;
        CHECK_THROWS_AS(parex::run_pipeline(
                            counting_source{100000, 0, &calls}, [](std::size_t i) { return i; },
                            [](std::size_t i) {
                                if (i == 10) throw std::domain_error("sink broke");
                            },
                            {.max_in_flight = 4}),
                        std::domain_error);
        CHECK(calls < 100000);
    }
}

namespace {

/// An item that counts the live instances of its kind, and owns heap memory (so a leak shows under LSan).
struct counted {
    static inline std::atomic<int> live{0};
    std::unique_ptr<std::vector<char>> bytes = std::make_unique<std::vector<char>>(1000);
    std::size_t index = 0;
    explicit counted(std::size_t i) : index(i) { ++live; }
    counted(counted&& other) noexcept : bytes(std::move(other.bytes)), index(other.index) { ++live; }
    counted& operator=(counted&& other) noexcept {
        bytes = std::move(other.bytes);
        index = other.index;
        return *this;
    }
    ~counted() { --live; }
};

}  // namespace

TEST_CASE("items in flight when a stage fails or the run is stopped are destroyed, not leaked", "[pipeline]") {
    parex::chunked_executor executor({.max_concurrency = 4});
    const auto slow_sink = [](counted&& c) {
        if (c.index % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    };
    for (int round = 0; round < 20; ++round) {
        std::size_t next = 0;
        const auto source = [&]() -> std::optional<counted> {
            if (next == 10000) return std::nullopt;
            return counted(next++);
        };
        CHECK_THROWS_WITH(parex::run_pipeline(executor, source,
                                              [](counted&& c) {
                                                  if (c.index == 40) throw std::runtime_error("item 40");
                                                  return std::move(c);
                                              },
                                              slow_sink, {.max_in_flight = 16}),
                          "item 40");
        CHECK(counted::live == 0);

        std::stop_source stop;
        next = 0;
        CHECK_THROWS_AS(parex::run_pipeline(executor, source,
                                            [&](counted&& c) {
                                                if (c.index == 30) stop.request_stop();
                                                return std::move(c);
                                            },
                                            slow_sink, {.max_in_flight = 16}, {.stop = stop.get_token()}),
                        parex::operation_cancelled);
        CHECK(counted::live == 0);
    }
}

TEST_CASE("a stop request ends the stream with operation_cancelled", "[pipeline]") {
    SECTION("requested before the call: the source is never called") {
        std::stop_source stop;
        stop.request_stop();
        std::size_t calls = 0;
        CHECK_THROWS_AS(parex::run_pipeline(
                            counting_source{10, 0, &calls}, [](std::size_t i) { return i; }, [](std::size_t) {}, {},
                            {.stop = stop.get_token()}),
                        parex::operation_cancelled);
        CHECK(calls == 0);
    }
    SECTION("requested by the sink: production stops within the in-flight bound") {
        std::stop_source stop;
        std::size_t calls = 0;
        std::size_t sunk = 0;
        try {
            parex::run_pipeline(
                counting_source{1000000, 0, &calls}, [](std::size_t i) { return i; },
                [&](std::size_t) {
                    if (++sunk == 20) stop.request_stop();
                },
                {.max_in_flight = 4}, {.stop = stop.get_token()});
            FAIL("expected operation_cancelled");
        } catch (const parex::operation_cancelled& e) {
            CHECK(e.done() == sunk);
            CHECK(e.done() >= 20);
            CHECK(e.total() <= 20 + 4);
        }
        CHECK(calls <= 20 + 4);
    }
}

TEST_CASE("a stage blocked on a long item sees its stop token requested when another stage fails", "[pipeline]") {
    // Item 0's transform waits (up to 20 s) for its token; item 1's throws 20 ms after starting. The
    // waiting stage must learn of the failure within milliseconds, not finish its long item.
    using clock = std::chrono::steady_clock;
    for (const std::size_t threads : {1u, 2u, 3u}) {
        INFO("executor of " << threads);
        parex::chunked_executor ex({.max_concurrency = threads});
        std::atomic<clock::rep> thrown_at{0};
        std::atomic<clock::rep> seen_at{0};
        std::atomic<bool> waited{false};
        std::size_t next = 0;
        const auto started = clock::now();
        CHECK_THROWS_WITH(
            parex::run_pipeline(
                ex, [&]() -> std::optional<std::size_t> { return next < 3 ? std::optional(next++) : std::nullopt; },
                [&](std::size_t i, std::stop_token stop) {
                    // On an executor of one the items run one after another: item 0 cannot wait for
                    // item 1 there, so item 0 throws and item 1 is the one that would wait.
                    const bool waits = threads == 1 ? i == 1 : i == 0;
                    const bool throws = threads == 1 ? i == 0 : i == 1;
                    if (throws) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(20));
                        thrown_at = (clock::now() - started).count();
                        throw std::runtime_error("item failed");
                    }
                    if (waits) {
                        waited = true;
                        const auto deadline = clock::now() + std::chrono::seconds(20);
                        while (!stop.stop_requested() && clock::now() < deadline)
                            std::this_thread::sleep_for(std::chrono::microseconds(100));
                        seen_at = (clock::now() - started).count();
                    }
                    return i;
                },
                [](std::size_t) {}, {.max_in_flight = 4}),
            "item failed");
        if (threads == 1) {
            // The failure stops the stream before item 1 starts: nothing waits.
            CHECK_FALSE(waited.load());
            continue;
        }
        REQUIRE(waited.load());
        const auto delay = clock::duration(seen_at.load() - thrown_at.load());
        CHECK(delay >= clock::duration::zero());
        CHECK(delay < std::chrono::milliseconds(500));  // a poll every 0.1 ms; slack for a loaded CI machine
    }
}

TEST_CASE("every stage may take the stop token, and a stop request reaches it", "[pipeline]") {
    for (const std::size_t threads : {1u, 2u}) {
        INFO("executor of " << threads);
        parex::chunked_executor ex({.max_concurrency = threads});
        std::stop_source stop;
        std::atomic<bool> source_token{true}, transform_token{true}, sink_saw{false};
        std::size_t next = 0;
        CHECK_THROWS_AS(parex::run_pipeline(
                            ex,
                            [&](std::stop_token token) -> std::optional<std::size_t> {
                                if (!token.stop_possible()) source_token = false;
                                return next++;
                            },
                            [&](std::size_t i, std::stop_token token) {
                                if (!token.stop_possible()) transform_token = false;
                                return i;
                            },
                            [&](std::size_t i, std::stop_token token) {
                                if (i != 10) return;
                                stop.request_stop();
                                sink_saw = token.stop_requested();  // forwarded at once, on this thread
                            },
                            {.max_in_flight = 4}, {.stop = stop.get_token()}),
                        parex::operation_cancelled);
        CHECK(source_token.load());
        CHECK(transform_token.load());
        CHECK(sink_saw.load());
    }
}

TEST_CASE("pipeline progress counts consumed out of produced and ends at done == total", "[pipeline]") {
    std::size_t calls = 0;
    std::vector<parex::progress> reports;
    parex::run_pipeline(
        counting_source{2000, 0, &calls},
        [](std::size_t i) {
            jitter(i);
            return i;
        },
        [](std::size_t) {}, {},
        {.on_progress = [&](parex::progress p) { reports.push_back(p); },
         .progress_interval = std::chrono::milliseconds(1)});
    REQUIRE(!reports.empty());
    for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);
    for (const auto& r : reports) CHECK(r.done <= r.total);
    CHECK(reports.back().done == 2000);
    CHECK(reports.back().total == 2000);
}

TEST_CASE("a pipeline runs in its executor's arena: at most max_concurrency stages at once", "[pipeline]") {
    for (std::size_t threads : {1u, 2u, 3u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        std::atomic<std::size_t> running{0}, peak{0};
        std::size_t calls = 0;
        parex::run_pipeline(
            ex, counting_source{400, 0, &calls},
            [&](std::size_t i) {
                const auto now = ++running;
                auto seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
                jitter(i);
                --running;
                return i;
            },
            [](std::size_t) {}, {.max_in_flight = 16});
        INFO("threads=" << threads);
        CHECK(peak.load() <= threads);
        CHECK(peak.load() >= 1);
    }
}

TEST_CASE("pipeline stages reach the executor's worker_local states", "[pipeline][worker_local]") {
    parex::chunked_executor ex({.max_concurrency = 3});
    parex::worker_local<std::vector<std::size_t>> seen_by_slot(ex,
                                                               [](std::size_t) { return std::vector<std::size_t>{}; });
    std::size_t calls = 0;
    parex::run_pipeline(
        ex, counting_source{1000, 0, &calls},
        [&](std::size_t i) {
            jitter(i);
            seen_by_slot.get().push_back(i);
            return i;
        },
        [](std::size_t) {});
    std::size_t total = 0;
    seen_by_slot.for_each_built([&](const std::vector<std::size_t>& v) { total += v.size(); });
    CHECK(total == 1000);
    CHECK(seen_by_slot.built() <= 3);
}
