#pragma once
// parex/cost_schedule.hpp: tasks of very different costs run heaviest first.
//
// Work stealing balances many small tasks well, but a batch whose largest task comes last finishes
// that task alone, long after the others. Longest-processing-time-first list scheduling (Graham,
// "Bounds on multiprocessing timing anomalies", SIAM J. Appl. Math. 17 (1969) 416, Theorem 2) starts
// the tasks in the order of decreasing estimated cost, each on the first worker that becomes free; its
// makespan is at most (4/3 - 1/(3m)) times the optimum on m workers. The estimate comes from the
// caller (a cost per task) or from a cost_model that learns seconds per unit of work by task kind from
// the times it measures.

#include <parex/chunked_executor.hpp>
#include <parex/chunking.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// The indices of `costs` in the order LPT starts them: decreasing cost, ties in index order.
/// Throws parex::invalid_argument for a cost that is negative or not finite. O(n log n).
inline std::vector<std::size_t> heaviest_first(std::span<const double> costs) {
    for (std::size_t i = 0; i < costs.size(); ++i)
        if (!(costs[i] >= 0) || !std::isfinite(costs[i]))
            throw parex::invalid_argument("parex: the cost of task " + std::to_string(i) + " is " +
                                          std::to_string(costs[i]) + "; costs must be finite and >= 0");
    std::vector<std::size_t> order(costs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // ties by index: a total order, so std::sort gives the same order everywhere (std::stable_sort
    // would too, but libstdc++ 12's uses get_temporary_buffer, which clang warns is deprecated)
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return costs[a] > costs[b] || (costs[a] == costs[b] && a < b); });
    return order;
}

/// A lower bound on the makespan of tasks of these costs on `workers` workers: the larger of the mean
/// load, sum / workers, and the largest task. No schedule beats it; LPT's makespan is at most
/// (4/3 - 1/(3m)) times the optimal one. Throws parex::invalid_argument when workers == 0.
inline double makespan_lower_bound(std::span<const double> costs, std::size_t workers) {
    if (workers == 0) throw parex::invalid_argument("parex: makespan_lower_bound needs at least one worker");
    double sum = 0, largest = 0;
    for (const double c : costs) sum += c, largest = std::max(largest, c);
    return std::max(sum / static_cast<double>(workers), largest);
}

/// What a task is, for a cost_model: its kind (tasks of one kind cost the same per unit) and its size
/// in units of work (elements x steps, bytes: whatever its time grows in proportion to). `kind` must
/// stay valid for the call that uses it (a string literal, or a string the caller keeps).
struct task_cost {
    std::string_view kind;
    double units = 1;
};

/// Learns the cost of tasks by kind: per kind, an exponentially weighted mean of measured seconds per
/// unit, rate <- (1 - weight) rate + weight (seconds / units), starting at the first measurement. Kept
/// between calls; thread-safe (one mutex).
class cost_model {
public:
    /// `weight` of a new measurement, in (0, 1]: 1 keeps only the last one. Throws
    /// parex::invalid_argument otherwise.
    explicit cost_model(double weight = 0.25) : weight_(weight) {
        if (!(weight > 0 && weight <= 1))
            throw parex::invalid_argument("parex: cost_model weight " + std::to_string(weight) + " is outside (0, 1]");
    }

    /// Records that `units` of `kind` took `seconds`. Measurements with units <= 0 or a time that is
    /// negative or not finite are ignored (they carry no rate).
    void record(std::string_view kind, double units, double seconds) {
        if (!(units > 0) || !(seconds >= 0) || !std::isfinite(seconds) || !std::isfinite(units)) return;
        const double rate = seconds / units;
        std::lock_guard lock(mutex_);
        const auto it = rates_.find(kind);
        if (it == rates_.end())
            rates_.emplace(std::string(kind), rate);
        else
            it->second = (1 - weight_) * it->second + weight_ * rate;
    }

    /// Seconds per unit of `kind`, or nullopt before its first measurement.
    [[nodiscard]] std::optional<double> rate(std::string_view kind) const {
        std::lock_guard lock(mutex_);
        const auto it = rates_.find(kind);
        return it == rates_.end() ? std::nullopt : std::optional(it->second);
    }

    /// Estimated seconds of a task: its units times its kind's rate; for a kind never measured, times
    /// the mean rate of the kinds measured; with nothing measured, its units (a consistent guess: the
    /// order of tasks of one kind is then by size).
    [[nodiscard]] double estimate(const task_cost& task) const {
        std::lock_guard lock(mutex_);
        const auto it = rates_.find(task.kind);
        if (it != rates_.end()) return task.units * it->second;
        if (rates_.empty()) return task.units;
        double sum = 0;
        for (const auto& entry : rates_) sum += entry.second;
        return task.units * sum / static_cast<double>(rates_.size());
    }

    /// Kinds measured so far.
    [[nodiscard]] std::size_t kinds() const {
        std::lock_guard lock(mutex_);
        return rates_.size();
    }

private:
    double weight_;
    mutable std::mutex mutex_;
    std::map<std::string, double, std::less<>> rates_;
};

namespace detail {

/// Runs f(i) for every i in `order` on `executor`: max_concurrency() workers each take the next index
/// of `order` when free (greedy list scheduling), then after_task(i, seconds) on the same thread.
/// Results in input order. Stops (no new task) on the first exception or a stop request.
template <class F, class After>
auto run_in_order(chunked_executor& executor, const std::vector<std::size_t>& order, F& f, After&& after_task,
                  const run_options& options) {
    using result = std::invoke_result_t<F&, std::size_t>;
    constexpr bool has_result = !std::is_void_v<result>;
    using slot = std::conditional_t<has_result, std::optional<result>, char>;
    const std::size_t n = order.size();
    std::vector<slot> slots(has_result ? n : 0);
    run_state state(options, n, false);
    std::atomic<std::size_t> next{0};
    const std::size_t workers = std::min(n, executor.max_concurrency());
    if (workers > 0) {
        executor.for_each(chunks(workers, grain{1}), [&](const chunk&) {
            for (std::size_t k = 0; !state.stopping() && (k = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
                const std::size_t i = order[k];
                try {
                    const auto start = std::chrono::steady_clock::now();
                    if constexpr (has_result)
                        slots[i].emplace(f(i));
                    else
                        f(i);
                    after_task(i, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
                    state.unit_done();  // may call on_progress, whose exception fails the run like f's
                } catch (...) {
                    state.fail(std::current_exception());
                    return;
                }
            }
        });
    }
    state.finish();
    if constexpr (has_result) {
        std::vector<result> results;
        results.reserve(n);
        for (auto& s : slots) results.push_back(std::move(*s));
        return results;
    }
}

}  // namespace detail

/// Calls f(i) for every i in [0, n) on `executor`, heaviest first: tasks start in the order of
/// decreasing cost(i), each on the first of the executor's max_concurrency() workers that is free.
/// Returns the results in input order (nothing when f returns void).
///
/// Guarantees: every task runs once, on a thread of the executor (so worker_local works in it); the
/// k-th task to start is heaviest_first(costs)[k]. `options.stop` is checked before each task: once
/// it is requested no task starts and the call throws operation_cancelled (running tasks finish).
/// The first exception of f stops the run the same way and is rethrown. on_progress counts tasks.
/// Throws parex::invalid_argument for a cost that is negative or not finite.
/// Cost: n calls of cost, a sort, and one atomic increment per task; the tasks themselves should be
/// long (microseconds or more), as each is scheduled alone.
template <class Cost, class F>
    requires std::invocable<Cost&, std::size_t> && std::invocable<F&, std::size_t>
auto map_by_cost(chunked_executor& executor, std::size_t n, Cost&& cost, F&& f, const run_options& options = {}) {
    std::vector<double> costs(n);
    for (std::size_t i = 0; i < n; ++i) costs[i] = static_cast<double>(cost(i));
    return detail::run_in_order(executor, heaviest_first(costs), f, [](std::size_t, double) {}, options);
}

/// map_by_cost with costs from `model`: describe(i) returns the task_cost of task i, whose estimate
/// orders the tasks; the time each task takes is measured and recorded into the model, so the next
/// call orders by what was learned. Same guarantees and errors as the other form.
template <class Describe, class F>
    requires std::invocable<Describe&, std::size_t> &&
             std::convertible_to<std::invoke_result_t<Describe&, std::size_t>, task_cost> &&
             std::invocable<F&, std::size_t>
auto map_by_cost(chunked_executor& executor, std::size_t n, cost_model& model, Describe&& describe, F&& f,
                 const run_options& options = {}) {
    std::vector<task_cost> tasks(n);
    std::vector<double> costs(n);
    for (std::size_t i = 0; i < n; ++i) {
        tasks[i] = describe(i);
        costs[i] = model.estimate(tasks[i]);
    }
    return detail::run_in_order(
        executor, heaviest_first(costs), f,
        [&](std::size_t i, double seconds) { model.record(tasks[i].kind, tasks[i].units, seconds); }, options);
}

/// map_by_cost on default_executor(). Throws parex::invalid_argument when PAREX_NUM_THREADS is invalid.
template <class Cost, class F>
    requires std::invocable<Cost&, std::size_t> && std::invocable<F&, std::size_t>
auto map_by_cost(std::size_t n, Cost&& cost, F&& f, const run_options& options = {}) {
    return map_by_cost(default_executor(), n, std::forward<Cost>(cost), std::forward<F>(f), options);
}

/// map_by_cost with a cost_model, on default_executor().
template <class Describe, class F>
    requires std::invocable<Describe&, std::size_t> &&
             std::convertible_to<std::invoke_result_t<Describe&, std::size_t>, task_cost> &&
             std::invocable<F&, std::size_t>
auto map_by_cost(std::size_t n, cost_model& model, Describe&& describe, F&& f, const run_options& options = {}) {
    return map_by_cost(default_executor(), n, model, std::forward<Describe>(describe), std::forward<F>(f), options);
}

}  // namespace parex
