#pragma once
// parex/chunked_executor.hpp: the executor. One oneTBB task arena of bounded concurrency runs everything
// given to it: chunk plans (for_each, map, and map_reduce combined in a tree fixed by the plan alone, so
// floating-point results do not depend on the thread count or the schedule), ordered pipelines
// (pipeline.hpp), and single tasks (submit with a future; run and wait as a task group).
// default_executor() is the process-wide one, and parex::for_each / map / map_reduce / submit use it.

#include <parex/chunking.hpp>
#include <parex/detail/combine_tree.hpp>
#include <parex/detail/executor_core.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/detail/stop_call.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>
#include <parex/task_future.hpp>
#include <parex/topology.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
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
concept chunk_function = std::invocable<F&, const Chunk&> || detail::takes_stop<F, const Chunk&>;

/// A task for submit(): f() or f(std::stop_token).
template <class F>
concept task_function = std::invocable<F&> || detail::takes_stop<F>;

/// Construction options of chunked_executor.
struct executor_options {
    /// Threads that may run work at once (the task arena's size, its slots), the caller's included.
    /// 0 = workers_for(workload::cpu_bound), which honours PAREX_NUM_THREADS. oneTBB starts at most
    /// as many threads as the machine has cores unless the program raises
    /// tbb::global_control::max_allowed_parallelism, so a larger arena runs on fewer threads.
    std::size_t max_concurrency = 0;
    /// Plans whose input_size() is below this run on the calling thread, in chunk order, with the same
    /// results (map_reduce uses the same combine tree). 0 = never inline.
    std::size_t sequential_below = 0;
};

class chunked_executor;

namespace detail {

/// The core of an executor, for parex's own headers (worker_local, pipeline).
executor_core& core_of(chunked_executor& ex) noexcept;
/// The default executor's exit handler: waits for its tasks.
void drain_default_executor_at_exit() noexcept;

}  // namespace detail

/// Runs work on one oneTBB task arena of max_concurrency() slots: chunk plans, pipelines and tasks.
/// Thread-safe: many threads may use one executor at once, and work running on it may call it again.
///
/// Concurrency: at most max_concurrency() pieces of work (chunks, pipeline stages, tasks together) run
/// at once, on at most that many threads; an executor of one runs them one at a time, on whichever
/// thread calls it or on one worker (docs/chunked_executor.md, "Guarantees").
/// Nesting: a call made from inside the executor's own work is isolated: while its thread waits, it
/// runs only that call's chunks or stages, never another outer piece of work, so no outer piece sees
/// another's worker_local State. A task that waits on a future of its own executor runs that task if
/// it has not started (task_future), so waiting on the executor's own tasks never deadlocks.
///
/// Semantics common to the chunk operations (for_each, map, map_reduce):
/// - each chunk of the plan runs at most once; all run unless the call fails or is cancelled;
/// - the first exception thrown by a chunk function stops the call: chunks not yet started are
///   skipped, running ones see their stop token requested, and once all have returned the exception
///   is rethrown to the caller;
/// - `options.stop`: once requested, no chunk starts; if any chunk was skipped the call throws
///   operation_cancelled;
/// - `options.on_progress` counts finished chunks (see run_options).
///
/// Move-only; a moved-from executor may only be destroyed or assigned to. The destructor waits for
/// every task given to run() or submit(); an exception of a run() task that no wait() collected is dropped.
class chunked_executor {
public:
    /// Throws parex::invalid_argument when PAREX_NUM_THREADS is needed (max_concurrency == 0) and invalid.
    explicit chunked_executor(executor_options options = {})
        : options_(options),
          core_(std::make_unique<detail::executor_core>(workers_for(workload::cpu_bound, options.max_concurrency))) {}

    chunked_executor(chunked_executor&&) noexcept = default;
    chunked_executor& operator=(chunked_executor&& other) noexcept {
        if (this != &other) {
            drain();
            options_ = other.options_;
            core_ = std::move(other.core_);
        }
        return *this;
    }
    ~chunked_executor() { drain(); }

    /// The arena's size: at most this many chunks, stages or tasks run at once.
    [[nodiscard]] std::size_t max_concurrency() const noexcept { return core_->concurrency; }
    [[nodiscard]] const executor_options& options() const noexcept { return options_; }

    // --- chunk plans -------------------------------------------------------------------------------

    /// Calls f(chunk) (or f(chunk, stop_token)) for every chunk of `plan`.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
    void for_each(const Plan& plan, F&& f, const run_options& options = {}) {
        run_chunks<detail::takes_stop<F, const chunk_of<Plan>&>>(
            plan, options, [&](std::size_t, const chunk_of<Plan>& c, std::stop_token stop) {
                detail::call_with_stop(f, std::move(stop), c);
            });
    }

    /// Calls f(i) for every i in [0, n), in chunks(n): at most 1024 chunks of automatic_grain(n) indices.
    template <class F>
        requires std::invocable<F&, std::size_t>
    void for_each(std::size_t n, F&& f, const run_options& options = {}) {
        for_each(
            chunks(n),
            [&](const chunk& c) {
                for (auto i = c.begin; i < c.end; ++i) f(i);
            },
            options);
    }

    /// Calls f for every chunk and returns the results in chunk order (results[i] from plan[i]),
    /// whatever the schedule. Memory: one result per chunk.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
    auto map(const Plan& plan, F&& f, const run_options& options = {}) {
        using result = std::remove_cvref_t<detail::stop_call_result_t<F, const chunk_of<Plan>&>>;
        static_assert(!std::is_void_v<result>, "parex: map needs a function that returns a value; use for_each");
        return collect<result, detail::takes_stop<F, const chunk_of<Plan>&>>(
            plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) {
                return detail::call_with_stop(f, std::move(stop), c);
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
        auto partials = collect<T, detail::takes_stop<Map, const chunk_of<Plan>&>>(
            plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) {
                return static_cast<T>(detail::call_with_stop(map_fn, std::move(stop), c));
            });
        if (runs_inline(plan) || core_->serial()) {
            core_->on_this_thread([&] { detail::combine_tree(partials, reduce); });
        } else if (partials.size() > 1) {
            core_->in_parallel([&] {
                for (std::size_t stride = 1; stride < partials.size(); stride *= 2) {
                    const auto pairs = detail::tree_pairs(partials.size(), stride);
                    tbb::parallel_for(std::size_t{0}, pairs, [&](std::size_t pair) {
                        detail::running_on here(core_.get());
                        detail::combine_pair(partials, stride, pair, reduce);
                    });
                }
            });
        }
        if (partials.empty()) return init;  // only a user plan can have no chunk at all
        return reduce(std::move(init), std::move(partials.front()));
    }

    // --- tasks -------------------------------------------------------------------------------------

    /// Queues f() (or f(stop), if f takes a std::stop_token) to run on the arena and returns its
    /// task_future at once: the value, or the exception f threw. A thread that waits on the future
    /// runs the task itself if no worker has started it. `options` as for worker_pool::submit: if
    /// options.stop is requested before the task starts it never runs and the future throws
    /// task_cancelled; requested while it runs, f sees it. Past options.deadline a task not yet started
    /// never runs and one that runs sees its stop requested; either way the future throws task_timeout
    /// at the deadline (a deadline already past settles it at once). Deadlines are kept by a thread of
    /// the executor's, started by the first task that has one.
    /// Cost: one oneTBB task and the shared state (one allocation); with a deadline, a stop state and
    /// an entry in the deadline watcher.
    template <task_function F>
    auto submit(task_options options, F f) {
        using result =
            typename std::conditional_t<std::invocable<F&, std::stop_token>, std::invoke_result<F&, std::stop_token>,
                                        std::invoke_result<F&>>::type;
        const bool has_deadline = options.deadline.has_value();
        std::shared_ptr<detail::task_state<result>> state =
            std::make_shared<detail::task_state_for<F, result>>(core_.get(), std::move(f), std::move(options));
        if (has_deadline && std::chrono::steady_clock::now() >= *state->deadline) {
            state->time_out();
            return task_future<result>(std::move(state));
        }
        core_->arena.enqueue(core_->submits.defer([core = core_.get(), task = state] {
            if (task->unclaimed()) core->as_queued_task([&] { task->run_unless_claimed(); });
        }));
        if (has_deadline) core_->deadlines.watch(state);
        return task_future<result>(std::move(state));
    }

    /// submit() with no stop token and no deadline.
    template <task_function F>
    auto submit(F f) {
        return submit(task_options{}, std::move(f));
    }

    /// The form of parex 0.1, the stop token after the function: kept for one release.
    template <task_function F>
    [[deprecated("use submit(parex::task_options{.stop = token}, f)")]] auto submit(F f, std::stop_token stop) {
        return submit(task_options{.stop = std::move(stop)}, std::move(f));
    }

    /// Queues f() to run on the arena and returns at once (fire and forget); wait() collects it.
    /// Any thread may call run(), also a task given to run(). Tasks are taken from the queue oldest
    /// first, so an executor of one runs the tasks one thread queued in the order it queued them.
    /// Cost: a push onto a lock-free ring, and an allocation unless f is trivially copyable and at most
    /// 40 bytes; at most max_concurrency() oneTBB tasks run the queue. Throws std::bad_alloc (f not
    /// queued) if memory runs out.
    template <class F>
        requires std::invocable<F&>
    void run(F f) {
        core_->push_run(detail::queued_task::of(std::move(f)));
    }

    /// Blocks until every task given to run() so far has finished or been dropped (the calling thread
    /// runs queued run() tasks meanwhile), then rethrows the first exception one of them threw: once a task has
    /// thrown, tasks not yet started are dropped. Throws operation_cancelled if cancel() dropped tasks.
    /// Afterwards the group is empty and ready for new run() calls. Call it from outside the tasks.
    void wait() {
        const std::size_t dropped = core_->finish_runs();
        const std::size_t started = core_->runs_started.exchange(0, std::memory_order_relaxed);
        core_->runs_cancelled.store(false, std::memory_order_relaxed);
        if (auto error = core_->take_run_error()) std::rethrow_exception(error);
        if (dropped > 0) throw operation_cancelled(started, started + dropped);
    }

    /// Drops the run() tasks that have not started, and those run() before the next wait() (running
    /// ones finish); wait() then throws operation_cancelled. Thread-safe.
    void cancel() noexcept { core_->runs_cancelled.store(true, std::memory_order_relaxed); }

private:
    template <chunk_plan Plan>
    bool runs_inline(const Plan& plan) const {
        return plan.input_size() < options_.sequential_below;
    }

    /// The one scheduling loop: body(i, plan[i], stop) for every chunk, with the common semantics.
    /// oneTBB's auto_partitioner hands each thread ranges of chunk indices, split further when other
    /// threads run out: chunk results and the combine tree depend on the plan only, so how the chunks
    /// are grouped into tasks changes nothing but the overhead (one task per range, not per chunk).
    template <bool WithToken, chunk_plan Plan, class Body>
    void run_chunks(const Plan& plan, const run_options& options, Body&& body) {
        const std::size_t n = plan.size();
        detail::run_state state(options, n, WithToken);
        const bool report_each = static_cast<bool>(options.on_progress);
        const auto run_range = [&](std::size_t begin, std::size_t end) {
            std::size_t done = 0;
            for (auto i = begin; i < end && !state.stopping(); ++i) {
                try {
                    body(i, plan[i], WithToken ? state.token() : std::stop_token{});
                } catch (...) {
                    state.fail(std::current_exception());
                    break;
                }
                if (report_each)
                    state.unit_done(1);
                else
                    ++done;
            }
            if (done > 0) state.unit_done(done);
        };
        if (runs_inline(plan) || core_->serial()) {
            if (n > 0) core_->on_this_thread([&] { run_range(0, n); });
        } else if (n > 0) {
            core_->in_parallel([&] {
                tbb::parallel_for(
                    tbb::blocked_range<std::size_t>(0, n, 1),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                        detail::running_on here(core_.get());
                        run_range(r.begin(), r.end());
                    },
                    tbb::auto_partitioner{});
            });
        }
        state.finish();
    }

    /// Runs body over the plan and returns its results in chunk order.
    template <class R, bool WithToken, chunk_plan Plan, class Body>
    std::vector<R> collect(const Plan& plan, const run_options& options, Body&& body) {
        if constexpr (std::is_default_constructible_v<R>) {
            std::vector<R> results(plan.size());
            run_chunks<WithToken>(plan, options, [&](std::size_t i, const chunk_of<Plan>& c, std::stop_token stop) {
                results[i] = body(c, std::move(stop));
            });
            return results;
        } else {
            std::vector<std::optional<R>> slots(plan.size());
            run_chunks<WithToken>(plan, options, [&](std::size_t i, const chunk_of<Plan>& c, std::stop_token stop) {
                slots[i].emplace(body(c, std::move(stop)));
            });
            std::vector<R> results;
            results.reserve(slots.size());
            for (auto& slot : slots) results.push_back(std::move(*slot));
            return results;
        }
    }

    /// Waits for every run() and submit() task; the destructor's and move assignment's first step. An
    /// exception of a run() task that no wait() collected, and tasks cancel() left queued, are dropped.
    void drain() noexcept {
        if (!core_) return;
        try {
            core_->finish_runs();
            core_->arena.execute([&] { core_->submits.wait(); });
        } catch (...) {  // NOLINT(bugprone-empty-catch): only oneTBB's own failures; run() tasks keep theirs
        }
    }

    friend detail::executor_core& detail::core_of(chunked_executor& ex) noexcept;
    friend void detail::drain_default_executor_at_exit() noexcept;

    executor_options options_;
    std::unique_ptr<detail::executor_core> core_;
};

inline detail::executor_core& detail::core_of(chunked_executor& ex) noexcept { return *ex.core_; }

// --- the default executor and the one-line forms ----------------------------------------------------

namespace detail {
/// Set once the default executor's exit handler has waited for its tasks; default_executor() then
/// registers the handler again, so that tasks queued by a later static destructor are waited for too.
inline std::atomic<bool> default_executor_drained{false};
}  // namespace detail

/// The process-wide executor: max_concurrency = workers_for(workload::cpu_bound), which honours
/// PAREX_NUM_THREADS. Built on first use, thread-safe, and usable until the process ends, from static
/// destructors too: it is never destroyed. At exit it waits for its run() and submit() tasks, in the
/// place its static destructor would have had (a std::atexit handler registered when it is built),
/// and again after any later static destructor that used it.
/// Throws parex::invalid_argument (on every call until it is fixed) when PAREX_NUM_THREADS is invalid.
inline chunked_executor& default_executor() {
    // Immortal: a static destroyed at exit could be used by a later static destructor, or by a thread.
    static chunked_executor* const executor = [] {
        auto* made = new chunked_executor;  // NOLINT(cppcoreguidelines-owning-memory)
        std::atexit(detail::drain_default_executor_at_exit);
        return made;
    }();
    if (detail::default_executor_drained.load(std::memory_order_relaxed) &&
        detail::default_executor_drained.exchange(false))
        std::atexit(detail::drain_default_executor_at_exit);
    return *executor;
}

inline void detail::drain_default_executor_at_exit() noexcept {
    default_executor().drain();
    default_executor_drained.store(true);
}

/// default_executor().for_each(n, f): f(i) for every i in [0, n).
template <class F>
    requires std::invocable<F&, std::size_t>
void for_each(std::size_t n, F&& f, const run_options& options = {}) {
    default_executor().for_each(n, std::forward<F>(f), options);
}

/// default_executor().for_each(plan, f).
template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
void for_each(const Plan& plan, F&& f, const run_options& options = {}) {
    default_executor().for_each(plan, std::forward<F>(f), options);
}

/// default_executor().map(plan, f).
template <chunk_plan Plan, chunk_function<chunk_of<Plan>> F>
auto map(const Plan& plan, F&& f, const run_options& options = {}) {
    return default_executor().map(plan, std::forward<F>(f), options);
}

/// default_executor().map_reduce(plan, map, reduce, init): the same bits for any thread count.
template <chunk_plan Plan, chunk_function<chunk_of<Plan>> Map, class T, class Reduce>
    requires std::invocable<Reduce&, T, T>
T map_reduce(const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, const run_options& options = {}) {
    return default_executor().map_reduce(plan, std::forward<Map>(map_fn), std::forward<Reduce>(reduce), std::move(init),
                                         options);
}

/// map_reduce with no executor: map(plan[i]) on the calling thread in chunk order, then the same fixed
/// combine tree, so the result is bitwise that of map_reduce on any executor. For work that must stay
/// on one thread (a task of an outer parallel loop that holds per-worker state while it runs) and for
/// reference results in tests. map's exception propagates at once; no cancellation, no progress.
/// Memory: one partial result per chunk.
template <chunk_plan Plan, class Map, class T, class Reduce>
    requires std::invocable<Map&, const chunk_of<Plan>&> && std::invocable<Reduce&, T, T>
T sequential_map_reduce(const Plan& plan, Map&& map_fn, Reduce&& reduce, T init) {
    std::vector<T> partials;
    partials.reserve(plan.size());
    for (std::size_t i = 0; i < plan.size(); ++i) partials.push_back(static_cast<T>(map_fn(plan[i])));
    detail::combine_tree(partials, reduce);
    if (partials.empty()) return init;
    return reduce(std::move(init), std::move(partials.front()));
}

/// default_executor().submit(options, f): a task_future.
template <task_function F>
auto submit(task_options options, F f) {
    return default_executor().submit(std::move(options), std::move(f));
}

/// default_executor().submit(f): a task_future.
template <task_function F>
auto submit(F f) {
    return default_executor().submit(std::move(f));
}

/// The form of parex 0.1, the stop token after the function: kept for one release.
template <task_function F>
[[deprecated("use parex::submit(parex::task_options{.stop = token}, f)")]] auto submit(F f, std::stop_token stop) {
    return default_executor().submit(task_options{.stop = std::move(stop)}, std::move(f));
}

}  // namespace parex
