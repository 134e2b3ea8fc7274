#pragma once
// parex/chunked_executor.hpp: runs a function over every chunk of a plan in parallel, in a task arena
// of bounded concurrency: for_each, map (results in chunk order) and map_reduce (combined in a tree fixed
// by the plan alone, so floating-point results do not depend on the thread count or the schedule).

#include <parex/chunking.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/run_control.hpp>
#include <parex/topology.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// A chunk plan: a random-access sequence of chunks with the size of the input it covers.
/// index_plan and byte_plan model it; so can a user's own plan.
template <class P>
concept chunk_plan = requires(const P& plan, std::size_t i) {
    { plan.size() } -> std::convertible_to<std::size_t>;
    { plan.input_size() } -> std::convertible_to<std::size_t>;
    { plan[i] } -> std::convertible_to<chunk>;
};

/// The chunk type of plan P (chunk for index_plan, byte_chunk for byte_plan).
template <chunk_plan P>
using chunk_of = std::remove_cvref_t<decltype(std::declval<const P&>()[0])>;

/// A chunk function takes the chunk, and optionally a std::stop_token to poll inside long chunks.
template <class F, class Chunk>
concept chunk_function = std::invocable<F&, const Chunk&> || std::invocable<F&, const Chunk&, std::stop_token>;

/// Construction options of chunked_executor.
struct executor_options {
    /// Threads that may run chunks at once (the task arena's size), the caller's included.
    /// 0 = workers_for(workload::cpu_bound), which honours PAREX_NUM_THREADS.
    std::size_t max_concurrency = 0;
    /// Plans whose input_size() is below this run inline on the calling thread, in chunk order, with
    /// the same results (map_reduce uses the same combine tree). 0 = never inline.
    std::size_t sequential_below = 0;
};

/// Runs chunk functions over chunk plans. Thread-safe: many threads may use one executor at once,
/// and a chunk function may call the executor again (nested parallelism runs in the same arena).
///
/// Semantics common to every operation:
/// - each chunk of the plan runs at most once; all run unless the call fails or is cancelled;
/// - the first exception thrown by a chunk function stops the call: chunks not yet started are
///   skipped, running ones see their stop token requested, and once all have returned the exception
///   is rethrown to the caller;
/// - `options.stop`: once requested, no chunk starts; if any chunk was skipped the call throws
///   operation_cancelled;
/// - `options.on_progress` counts finished chunks (see run_options).
class chunked_executor {
public:
    /// Throws std::invalid_argument when PAREX_NUM_THREADS is needed (max_concurrency == 0) and invalid.
    explicit chunked_executor(executor_options options = {})
        : options_(options),
          concurrency_(workers_for(workload::cpu_bound, options.max_concurrency)),
          arena_(std::make_unique<tbb::task_arena>(static_cast<int>(concurrency_))) {}

    /// The arena's size: at most this many chunks run at once.
    [[nodiscard]] std::size_t max_concurrency() const noexcept { return concurrency_; }
    [[nodiscard]] const executor_options& options() const noexcept { return options_; }

    /// Calls f(chunk) (or f(chunk, stop_token)) for every chunk of `plan`.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
    void for_each(const Plan& plan, F&& f, const run_options& options = {}) {
        run(plan, options, [&](std::size_t, const chunk_of<Plan>& c, std::stop_token stop) { call(f, c, stop); });
    }

    /// Calls f for every chunk and returns the results in chunk order (results[i] from plan[i]),
    /// whatever the schedule. Memory: one result per chunk.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
    auto map(const Plan& plan, F&& f, const run_options& options = {}) {
        using result = std::remove_cvref_t<decltype(call(f, plan[0], std::stop_token{}))>;
        static_assert(!std::is_void_v<result>, "parex: map needs a function that returns a value; use for_each");
        return collect<result>(plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) {
            return call(f, c, stop);
        });
    }

    /// reduce(init, tree) where the leaves are map(plan[i]) and the tree pairs them level by level:
    /// (0,1) (2,3) ... then (01,23) ..., a shape fixed by plan.size() alone. The result is therefore
    /// bitwise the same for any thread count, even for a non-associative reduce (floating-point sums).
    /// `reduce(T, T) -> T` must be safe to call concurrently on different pairs.
    /// Memory: one partial result per chunk; reduce is called plan.size() times.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> Map, class T, class Reduce>
        requires std::invocable<Reduce&, T, T>
    T map_reduce(const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, const run_options& options = {}) {
        auto partials = collect<T>(plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) {
            return static_cast<T>(call(map_fn, c, stop));
        });
        const bool inline_run = runs_inline(plan);
        for (std::size_t stride = 1; stride < partials.size(); stride *= 2) {
            const auto pairs = (partials.size() - stride + 2 * stride - 1) / (2 * stride);
            const auto combine = [&](std::size_t pair) {
                const auto left = pair * 2 * stride;
                partials[left] = reduce(std::move(partials[left]), std::move(partials[left + stride]));
            };
            if (inline_run || pairs < 2) {
                for (std::size_t p = 0; p < pairs; ++p) combine(p);
            } else {
                arena_->execute([&] {
                    tbb::parallel_for(std::size_t{0}, pairs, combine);
                });
            }
        }
        if (partials.empty()) return init;  // only a user plan can have no chunk at all
        return reduce(std::move(init), std::move(partials.front()));
    }

    /// Speculative record parsing (see repair_speculative in chunking.hpp): calls
    /// parse(c.begin, c.end) for every chunk c of `plan` in parallel, then validates the results in
    /// chunk order and parses again, on the calling thread, each chunk that began inside a record.
    /// `plan`'s cuts are candidate record boundaries (split_bytes with a delimiter finder) and its first
    /// chunk begins at a true one. Returns one result per chunk, equal to the sequential parse's, and
    /// the number of chunks parsed again.
    /// A parse that meets bad data should report it in its result rather than throw: a chunk that
    /// began at a false boundary routinely sees garbage, and only a valid chunk's errors are real.
    template <class Parse>
        requires std::invocable<Parse&, std::size_t, std::size_t> &&
                 speculative_result<std::invoke_result_t<Parse&, std::size_t, std::size_t>>
    auto map_records(const byte_plan& plan, Parse&& parse, const run_options& options = {}) {
        using result = std::invoke_result_t<Parse&, std::size_t, std::size_t>;
        struct parsed_records {
            std::vector<result> results;
            std::size_t repaired;
        };
        auto results = map(plan, [&](const byte_chunk& c) { return parse(c.begin, c.end); }, options);
        const auto repaired = repair_speculative(plan, results, plan[0].begin, parse);
        return parsed_records{std::move(results), repaired};
    }

private:
    template <class F, class Chunk>
    static decltype(auto) call(F& f, const Chunk& c, std::stop_token stop) {
        if constexpr (std::invocable<F&, const Chunk&, std::stop_token>) return f(c, std::move(stop));
        else return f(c);
    }

    template <chunk_plan Plan>
    bool runs_inline(const Plan& plan) const {
        return plan.input_size() < options_.sequential_below;
    }

    /// The one scheduling loop: body(i, plan[i], stop) for every chunk, with the common semantics.
    template <chunk_plan Plan, class Body>
    void run(const Plan& plan, const run_options& options, Body&& body) {
        const std::size_t n = plan.size();
        detail::run_state state(options, n);
        const auto task = [&](std::size_t i) {
            if (state.stopping()) return;
            try {
                body(i, plan[i], state.token());
                state.unit_done();
            } catch (...) {
                state.fail(std::current_exception());
            }
        };
        if (runs_inline(plan)) {
            for (std::size_t i = 0; i < n; ++i) task(i);
        } else {
            // One task per chunk: the plan already chose the granularity.
            arena_->execute([&] {
                tbb::parallel_for(
                    tbb::blocked_range<std::size_t>(0, n, 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                        for (auto i = r.begin(); i != r.end(); ++i) task(i);
                    },
                    tbb::simple_partitioner{});
            });
        }
        state.finish();
    }

    /// Runs body over the plan and returns its results in chunk order.
    template <class R, chunk_plan Plan, class Body>
    std::vector<R> collect(const Plan& plan, const run_options& options, Body&& body) {
        if constexpr (std::is_default_constructible_v<R>) {
            std::vector<R> results(plan.size());
            run(plan, options, [&](std::size_t i, const chunk_of<Plan>& c, std::stop_token stop) {
                results[i] = body(c, std::move(stop));
            });
            return results;
        } else {
            std::vector<std::optional<R>> slots(plan.size());
            run(plan, options, [&](std::size_t i, const chunk_of<Plan>& c, std::stop_token stop) {
                slots[i].emplace(body(c, std::move(stop)));
            });
            std::vector<R> results;
            results.reserve(slots.size());
            for (auto& slot : slots) results.push_back(std::move(*slot));
            return results;
        }
    }

    executor_options options_;
    std::size_t concurrency_;
    std::unique_ptr<tbb::task_arena> arena_;  // behind a pointer so the executor can move
};

}  // namespace parex
