// Conformance of parex/cost_schedule.hpp: the LPT order, results in input order, the start order on any
// number of workers, errors and stops, the cost model's arithmetic and its use across calls.
#include <parex/cost_schedule.hpp>
#include <parex/worker_local.hpp>

#include "parex_catch.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

TEST_CASE("heaviest_first orders by decreasing cost, ties by index", "[cost]") {
    const std::vector<double> costs{3, 1, 4, 1, 5, 9, 2, 6};
    CHECK(parex::heaviest_first(costs) == std::vector<std::size_t>{5, 7, 4, 2, 0, 6, 1, 3});
    CHECK(parex::heaviest_first(std::vector<double>{}).empty());
    CHECK_THROWS_AS(parex::heaviest_first(std::vector<double>{1, -1}), parex::invalid_argument);
    CHECK_THROWS_AS(parex::heaviest_first(std::vector<double>{std::nan("")}), parex::invalid_argument);
}

TEST_CASE("the makespan bound is the larger of the mean load and the largest task", "[cost]") {
    CHECK(parex::makespan_lower_bound(std::vector<double>{4, 4, 4, 4}, 2) == 8);
    CHECK(parex::makespan_lower_bound(std::vector<double>{10, 1, 1}, 2) == 10);
    CHECK_THROWS_AS(parex::makespan_lower_bound(std::vector<double>{1}, 0), parex::invalid_argument);
}

TEST_CASE("map_by_cost returns results in input order and starts tasks heaviest first", "[cost]") {
    std::vector<double> costs(200);
    for (std::size_t i = 0; i < costs.size(); ++i) costs[i] = static_cast<double>((i * 37) % 101);
    const auto order = parex::heaviest_first(costs);
    for (const std::size_t threads : {1u, 2u, 4u}) {
        parex::chunked_executor ex({.max_concurrency = threads});
        std::atomic<std::size_t> started{0};
        std::vector<std::size_t> rank(costs.size(), 0);  // the position at which task i started
        const auto results = parex::map_by_cost(
            ex, costs.size(), [&](std::size_t i) { return costs[i]; },
            [&](std::size_t i) {
                rank[i] = started.fetch_add(1);
                return 2 * i;
            });
        REQUIRE(results.size() == costs.size());
        for (std::size_t i = 0; i < results.size(); ++i) CHECK(results[i] == 2 * i);
        if (threads == 1) {  // one worker: the start order is exactly the LPT order
            for (std::size_t k = 0; k < order.size(); ++k) CHECK(rank[order[k]] == k);
        }
        CHECK(started.load() == costs.size());
    }
}

TEST_CASE("map_by_cost without an executor runs on the default executor, with or without a cost_model", "[cost]") {
    const auto on_default = [](std::size_t) {
        return parex::detail::core_of(parex::default_executor()).running_here();
    };
    const auto results = parex::map_by_cost(5, [](std::size_t i) { return static_cast<double>(i); }, on_default);
    CHECK(results == std::vector<bool>(5, true));
    parex::cost_model model;
    const auto modelled = parex::map_by_cost(
        4, model, [](std::size_t i) { return parex::task_cost{"k", static_cast<double>(i + 1)}; },
        [](std::size_t i) { return 3 * i; });
    CHECK(modelled == std::vector<std::size_t>{0, 3, 6, 9});
}

TEST_CASE("with two workers the heaviest tasks go first and finish sooner than in input order", "[cost]") {
    // Eight tasks of 1 ms and one of 8 ms, the long one last in input order: heaviest first, the long
    // task runs beside the short ones; in input order it would start last. Checked by the order of
    // starts, which the executor fixes, not by times, which the machine does.
    parex::chunked_executor ex({.max_concurrency = 2});
    std::vector<double> ms{1, 1, 1, 1, 1, 1, 1, 1, 8};
    std::atomic<std::size_t> started{0};
    std::vector<std::size_t> rank(ms.size());
    parex::map_by_cost(
        ex, ms.size(), [&](std::size_t i) { return ms[i]; },
        [&](std::size_t i) {
            rank[i] = started.fetch_add(1);
            std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(ms[i] * 100)));
        });
    CHECK(rank[8] == 0);
}

TEST_CASE("a task's exception stops the run and reaches the caller", "[cost]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH(parex::map_by_cost(
                          ex, 100, [](std::size_t i) { return 100.0 - static_cast<double>(i); },
                          [&](std::size_t i) {
                              ++ran;
                              if (i == 3) throw std::runtime_error("task 3 failed");
                              std::this_thread::sleep_for(std::chrono::microseconds(200));
                          }),
                      "task 3 failed");
    CHECK(ran.load() < 100);
}

TEST_CASE("a stop request starts no new task and throws operation_cancelled", "[cost]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    std::stop_source stop;
    std::atomic<int> ran{0};
    try {
        parex::map_by_cost(
            ex, 100, [](std::size_t) { return 1.0; },
            [&](std::size_t) {
                if (++ran == 10) stop.request_stop();
            },
            {.stop = stop.get_token()});
        FAIL("not stopped");
    } catch (const parex::operation_cancelled& e) {
        CHECK(e.total() == 100);
        CHECK(e.done() < 100);
        CHECK(e.done() == static_cast<std::size_t>(ran.load()));
    }
}

TEST_CASE("tasks run on the executor's threads, so worker_local works in them", "[cost]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    parex::worker_local<std::size_t> count(ex, [](std::size_t) { return std::size_t{0}; });
    parex::map_by_cost(
        ex, 50, [](std::size_t i) { return static_cast<double>(i); }, [&](std::size_t) { ++count.get(); });
    std::size_t total = 0;
    count.for_each_built([&](std::size_t& c) { total += c; });
    CHECK(total == 50);
}

TEST_CASE("cost_model keeps an exponentially weighted mean of seconds per unit by kind", "[cost]") {
    parex::cost_model model(0.25);
    CHECK_FALSE(model.rate("esn").has_value());
    CHECK(model.estimate({"esn", 7}) == 7);  // nothing measured: the units
    model.record("esn", 2, 4);               // 2 s per unit
    CHECK(model.rate("esn") == 2.0);
    model.record("esn", 1, 4);  // 4 s per unit: 0.75 x 2 + 0.25 x 4
    CHECK(model.rate("esn") == 2.5);
    CHECK(model.estimate({"esn", 2}) == 5.0);
    model.record("lif", 1, 0.5);
    CHECK(model.estimate({"unknown", 2}) == 2 * (2.5 + 0.5) / 2);  // the mean rate of the kinds measured
    model.record("lif", 0, 1);                                     // no units: ignored
    model.record("lif", 1, std::numeric_limits<double>::infinity());
    CHECK(model.rate("lif") == 0.5);
    CHECK(model.kinds() == 2);
    CHECK_THROWS_AS(parex::cost_model(0), parex::invalid_argument);
    CHECK_THROWS_AS(parex::cost_model(1.5), parex::invalid_argument);
}

TEST_CASE("map_by_cost with a cost_model records every task and orders the next call by it", "[cost]") {
    parex::chunked_executor ex({.max_concurrency = 2});
    parex::cost_model model(1.0);
    // "slow" tasks take 200 times longer per unit than "fast" ones, which the sizes alone do not show.
    const auto describe = [](std::size_t i) { return parex::task_cost{i % 2 ? "slow" : "fast", 1.0}; };
    const auto work = [](std::size_t i) {
        std::this_thread::sleep_for(std::chrono::microseconds(i % 2 ? 20000 : 100));
        return i;
    };
    const auto first = parex::map_by_cost(ex, 8, model, describe, work);
    CHECK(first == std::vector<std::size_t>{0, 1, 2, 3, 4, 5, 6, 7});
    REQUIRE(model.kinds() == 2);
    CHECK(*model.rate("slow") > *model.rate("fast"));
    std::atomic<std::size_t> started{0};
    std::vector<std::size_t> rank(8);
    parex::chunked_executor one({.max_concurrency = 1});
    parex::map_by_cost(one, 8, model, describe, [&](std::size_t i) { rank[i] = started.fetch_add(1); });
    for (const std::size_t slow : {1u, 3u, 5u, 7u}) CHECK(rank[slow] < 4);  // learned: the slow kind first
}

TEST_CASE("cost_model is safe to record into from many threads", "[cost]") {
    parex::cost_model model;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int k = 0; k < 1000; ++k) model.record(t % 2 ? "a" : "b", 1, 1);
        });
    for (auto& t : threads) t.join();
    CHECK(model.rate("a") == 1.0);
    CHECK(model.rate("b") == 1.0);
}
