#pragma once
// parex/chunked_executor.hpp: the executor. One oneTBB task arena of bounded concurrency runs everything
// given to it: chunk plans (for_each, map, and map_reduce combined in a tree fixed by the plan alone, so
// floating-point results do not depend on the thread count or the schedule), ordered pipelines
// (pipeline.hpp), and single tasks (submit with a future; run and wait as a task group).
// default_executor() is the process-wide one, and parex::for_each / map / map_reduce / submit use it.

#include <parex/chunking.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>
#include <parex/topology.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <cstddef>
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
concept chunk_function = std::invocable<F&, const Chunk&> || std::invocable<F&, const Chunk&, std::stop_token>;

/// A task for submit(): f() or f(std::stop_token).
template <class F>
concept task_function = std::invocable<F&> || std::invocable<F&, std::stop_token>;

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

/// The task arenas of destroyed executors, each kept for the next executor of the same size. oneTBB
/// (2021.8, Debian 12's, at least) does not free an arena that its worker threads served: every
/// destroyed one keeps a few kilobytes, and every later arena takes longer to start, without bound
/// (docs/chunked_executor.md, "Costs"). Handing arenas on keeps a program that makes an
/// executor per call at the cost of its first one. Thread-safe; an arena is held by one executor at a
/// time, and the idle ones are as many as the most executors of one size that were alive at once.
class arena_pool {
public:
    struct shape {
        int concurrency;
        unsigned reserved_for_callers;
        friend bool operator==(const shape&, const shape&) = default;
    };
    /// Puts the arena back into the pool rather than destroying it.
    struct give_back {
        shape key;
        void operator()(tbb::task_arena* arena) const noexcept {
            std::unique_ptr<tbb::task_arena> owned(arena);
            auto& pool = instance();
            try {
                const std::lock_guard lock(pool.mutex_);
                pool.idle_.push_back({key, std::move(owned)});
            } catch (...) {  // no memory to keep it: destroyed, as without the pool
            }
        }
    };
    using handle = std::unique_ptr<tbb::task_arena, give_back>;

    /// An idle arena of that shape, or a new one.
    static handle take(shape key) {
        auto& pool = instance();
        {
            const std::lock_guard lock(pool.mutex_);
            const auto it =
                std::find_if(pool.idle_.begin(), pool.idle_.end(), [&](const idle_arena& a) { return a.key == key; });
            if (it != pool.idle_.end()) {
                handle found(it->arena.release(), give_back{key});
                pool.idle_.erase(it);
                return found;
            }
        }
        return handle(new tbb::task_arena(key.concurrency, key.reserved_for_callers), give_back{key});
    }

private:
    struct idle_arena {
        shape key;
        std::unique_ptr<tbb::task_arena> arena;
    };
    // Constructed by the first executor's constructor, so destroyed after every static executor.
    static arena_pool& instance() {
        static arena_pool pool;
        return pool;
    }
    std::mutex mutex_;
    std::vector<idle_arena> idle_;
};

/// What an executor's operations share: the arena and its two task groups. Never moves (tasks and
/// worker_local refer to it), so the executor owns it through a pointer and stays movable.
struct executor_core {
    explicit executor_core(std::size_t concurrency)
        // An arena of one slot reserves none for callers: submitted tasks need a worker to run on.
        : arena_handle(arena_pool::take({static_cast<int>(concurrency), concurrency > 1 ? 1u : 0u})),
          arena(*arena_handle),
          concurrency(concurrency),
          // oneTBB before 2021.10 gives an arena of one a second slot, whose index a thread running
          // there reports (oneTBB pull request #1128).
          slots(std::max<std::size_t>(concurrency, 2)) {}

    static constexpr auto traits = tbb::task_group_context::default_traits | tbb::task_group_context::concurrent_wait;
    arena_pool::handle arena_handle;  // returned to the pool after the task groups are destroyed
    tbb::task_arena& arena;
    std::size_t concurrency;  // max_concurrency()
    std::size_t slots;        // slot indices a thread may hold in the arena: [0, slots)
    // Isolated: a cancellation of whatever task first used the group must not reach it.
    tbb::task_group_context runs_context{tbb::task_group_context::isolated, traits};
    tbb::task_group runs{runs_context};  // run() / wait()
    tbb::task_group_context submits_context{tbb::task_group_context::isolated, traits};
    tbb::task_group submits{submits_context};  // submit(); never cancelled: each future settles itself
    std::atomic<std::size_t> runs_total{0};    // run() calls since the last wait()
    std::atomic<std::size_t> runs_skipped{0};  // of those, tasks dropped by a cancellation
    // The first exception a run() task threw since the last wait(). Kept here, not carried by oneTBB,
    // so that it crosses to wait() with the caller's own standard library (libtbb may use another).
    std::mutex runs_error_mutex;
    std::exception_ptr runs_error;

    /// Keeps `error` if it is the first since the last wait(), and drops the tasks not started.
    void run_failed(std::exception_ptr error) noexcept {
        {
            std::lock_guard lock(runs_error_mutex);
            if (!runs_error) runs_error = std::move(error);
        }
        runs.cancel();
    }
    /// The first exception since the last wait(), taken (null if none).
    std::exception_ptr take_run_error() noexcept {
        std::lock_guard lock(runs_error_mutex);
        return std::exchange(runs_error, nullptr);
    }
};

/// The combine tree of map_reduce over n partial results: level by level, stride 1, 2, 4, ..., pair p
/// of a level combines partials[2 p stride] with partials[2 p stride + stride] into the left one. The
/// shape depends on n alone. tree_pairs is the number of pairs of a level.
inline constexpr std::size_t tree_pairs(std::size_t n, std::size_t stride) noexcept {
    return (n - stride + 2 * stride - 1) / (2 * stride);
}
template <class T, class Reduce>
void combine_pair(std::vector<T>& partials, std::size_t stride, std::size_t pair, Reduce& reduce) {
    const auto left = pair * 2 * stride;
    partials[left] = reduce(std::move(partials[left]), std::move(partials[left + stride]));
}
/// The whole tree on the calling thread; the result is then partials[0] (when there is one).
template <class T, class Reduce>
void combine_tree(std::vector<T>& partials, Reduce& reduce) {
    for (std::size_t stride = 1; stride < partials.size(); stride *= 2)
        for (std::size_t p = 0, pairs = tree_pairs(partials.size(), stride); p < pairs; ++p)
            combine_pair(partials, stride, p, reduce);
}

/// The executor whose work this thread is running (a chunk, a pipeline stage, a task), or nullptr.
inline thread_local const executor_core* running_core = nullptr;

/// Marks the current thread as running `core`'s work for its lifetime; nests.
class running_on {
public:
    explicit running_on(const executor_core* core) noexcept : previous_(running_core) { running_core = core; }
    ~running_on() { running_core = previous_; }
    running_on(const running_on&) = delete;
    running_on& operator=(const running_on&) = delete;

private:
    const executor_core* previous_;
};

/// The arena slot of the calling thread in `core`'s arena: in [0, core.slots), held by no other thread
/// while this one runs the executor's work. Throws parex::logic_error outside that work.
inline std::size_t current_slot(const executor_core& core) {
    const int slot = tbb::this_task_arena::current_thread_index();
    if (running_core != &core || slot < 0 || static_cast<std::size_t>(slot) >= core.slots)
        throw parex::logic_error("parex: per-worker state used outside a chunk, stage or task of its executor");
    return static_cast<std::size_t>(slot);
}

/// A submit() task: runs f unless its stop token was requested first; settles the promise.
template <class F, class R>
struct submitted_task {
    const executor_core* core;
    mutable F fn;  // oneTBB calls tasks through a const reference
    std::stop_token stop;
    mutable std::promise<R> promise;

    void operator()() const {
        if (stop.stop_requested()) {
            promise.set_exception(std::make_exception_ptr(task_cancelled{}));
            return;
        }
        running_on here(core);
        try {
            if constexpr (std::is_void_v<R>) {
                invoke();
                promise.set_value();
            } else {
                promise.set_value(invoke());
            }
        } catch (...) {
            promise.set_exception(std::current_exception());
        }
    }
    R invoke() const {
        if constexpr (std::invocable<F&, std::stop_token>)
            return fn(stop);
        else
            return fn();
    }
};

/// A run() task; one that is destroyed without having run was dropped by a cancellation.
template <class F>
struct group_task {
    executor_core* core;
    mutable F fn;
    mutable bool ran = false;

    group_task(executor_core* c, F f) : core(c), fn(std::move(f)) {}
    group_task(group_task&& other) noexcept(std::is_nothrow_move_constructible_v<F>)
        : core(std::exchange(other.core, nullptr)),
          fn(std::move(other.fn)) {}
    group_task& operator=(group_task&&) = delete;
    ~group_task() {
        if (core && !ran) core->runs_skipped.fetch_add(1, std::memory_order_relaxed);
    }
    void operator()() const {
        ran = true;
        running_on here(core);
        try {
            fn();
        } catch (...) {
            core->run_failed(std::current_exception());
        }
    }
};

/// The core of an executor, for parex's own headers (worker_local, pipeline).
executor_core& core_of(chunked_executor& ex) noexcept;

}  // namespace detail

/// Runs work on one oneTBB task arena of max_concurrency() slots: chunk plans, pipelines and tasks.
/// Thread-safe: many threads may use one executor at once, and work running on it may call it again
/// (nested parallelism runs in the same arena and never deadlocks; a task that blocks on a future of
/// the same executor can, if every slot does).
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
        run_chunks<takes_token<F, chunk_of<Plan>>>(
            plan, options,
            [&](std::size_t, const chunk_of<Plan>& c, std::stop_token stop) { call(f, c, std::move(stop)); });
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
        using result = std::remove_cvref_t<decltype(call(f, plan[0], std::stop_token{}))>;
        static_assert(!std::is_void_v<result>, "parex: map needs a function that returns a value; use for_each");
        return collect<result, takes_token<F, chunk_of<Plan>>>(
            plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) { return call(f, c, std::move(stop)); });
    }

    /// reduce(init, tree) where the leaves are map(plan[i]) and the tree pairs them level by level:
    /// (0,1) (2,3) ... then (01,23) ..., a shape fixed by plan.size() alone. The result is therefore
    /// bitwise the same for any thread count, even for a non-associative reduce (floating-point sums).
    /// `reduce(T, T) -> T` must be safe to call concurrently on different pairs.
    /// Memory: one partial result per chunk; reduce is called plan.size() times.
    template <chunk_plan Plan, chunk_function<chunk_of<Plan>> Map, class T, class Reduce>
        requires std::invocable<Reduce&, T, T>
    T map_reduce(const Plan& plan, Map&& map_fn, Reduce&& reduce, T init, const run_options& options = {}) {
        auto partials = collect<T, takes_token<Map, chunk_of<Plan>>>(
            plan, options, [&](const chunk_of<Plan>& c, std::stop_token stop) {
                return static_cast<T>(call(map_fn, c, std::move(stop)));
            });
        const auto combine_levels = [&] {
            detail::running_on here(core_.get());
            for (std::size_t stride = 1; stride < partials.size(); stride *= 2) {
                const auto pairs = detail::tree_pairs(partials.size(), stride);
                const auto combine = [&](std::size_t pair) { detail::combine_pair(partials, stride, pair, reduce); };
                if (runs_inline(plan) || pairs < 2) {
                    for (std::size_t p = 0; p < pairs; ++p) combine(p);
                } else {
                    tbb::parallel_for(std::size_t{0}, pairs, [&](std::size_t p) {
                        detail::running_on worker(core_.get());
                        combine(p);
                    });
                }
            }
        };
        if (partials.size() > 1) core_->arena.execute(combine_levels);
        if (partials.empty()) return init;  // only a user plan can have no chunk at all
        return reduce(std::move(init), std::move(partials.front()));
    }

    // --- tasks -------------------------------------------------------------------------------------

    /// Queues f() (or f(stop), if f takes a std::stop_token) to run on the arena and returns its future
    /// at once: the value, or the exception f threw. If `stop` is requested before the task starts it
    /// never runs and the future throws task_cancelled; requested while it runs, f sees it.
    /// Cost: one oneTBB task (a small-object allocation) and one promise.
    template <task_function F>
    auto submit(F f, std::stop_token stop = {}) {
        using result =
            typename std::conditional_t<std::invocable<F&, std::stop_token>, std::invoke_result<F&, std::stop_token>,
                                        std::invoke_result<F&>>::type;
        std::promise<result> promise;
        auto future = promise.get_future();
        core_->arena.enqueue(core_->submits.defer(
            detail::submitted_task<F, result>{core_.get(), std::move(f), std::move(stop), std::move(promise)}));
        return future;
    }

    /// Queues f() to run on the arena and returns at once (fire and forget); wait() collects it.
    /// Any thread may call run(), also a task given to run(). Cost: one oneTBB task.
    template <class F>
        requires std::invocable<F&>
    void run(F f) {
        core_->runs_total.fetch_add(1, std::memory_order_relaxed);
        core_->arena.enqueue(core_->runs.defer(detail::group_task<F>(core_.get(), std::move(f))));
    }

    /// Blocks until every task given to run() so far has finished or been dropped (the calling thread
    /// runs tasks meanwhile), then rethrows the first exception one of them threw: once a task has
    /// thrown, tasks not yet started are dropped. Throws operation_cancelled if cancel() dropped tasks.
    /// Afterwards the group is empty and ready for new run() calls. Call it from outside the tasks.
    void wait() {
        struct reset_counts {
            detail::executor_core* core;
            ~reset_counts() {
                core->runs_total.store(0, std::memory_order_relaxed);
                core->runs_skipped.store(0, std::memory_order_relaxed);
            }
        };
        reset_counts reset{core_.get()};
        const auto status = core_->arena.execute([&] { return core_->runs.wait(); });
        if (auto error = core_->take_run_error()) std::rethrow_exception(error);
        const auto total = core_->runs_total.load(std::memory_order_relaxed);
        const auto skipped = core_->runs_skipped.load(std::memory_order_relaxed);
        if (status == tbb::task_group_status::canceled && skipped > 0)
            throw operation_cancelled(total - skipped, total);
    }

    /// Drops the run() tasks that have not started, and those run() before the next wait() (running
    /// ones finish); wait() then throws operation_cancelled. Thread-safe.
    void cancel() noexcept { core_->runs.cancel(); }

private:
    template <class F, class Chunk>
    static constexpr bool takes_token = std::invocable<F&, const Chunk&, std::stop_token>;

    template <class F, class Chunk>
    static decltype(auto) call(F& f, const Chunk& c, std::stop_token stop) {
        if constexpr (takes_token<F, Chunk>)
            return f(c, std::move(stop));
        else
            return f(c);
    }

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
            detail::running_on here(core_.get());
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
        if (runs_inline(plan)) {
            core_->arena.execute([&] { run_range(0, n); });
        } else if (n > 0) {
            core_->arena.execute([&] {
                tbb::parallel_for(
                    tbb::blocked_range<std::size_t>(0, n, 1),
                    [&](const tbb::blocked_range<std::size_t>& r) { run_range(r.begin(), r.end()); },
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

    /// Waits for every run() and submit() task; the destructor's and move assignment's first step.
    void drain() noexcept {
        if (!core_) return;
        try {
            core_->arena.execute([&] {
                core_->runs.wait();
                core_->submits.wait();
            });
        } catch (...) {  // a run() task's exception that no wait() collected
            try {
                core_->arena.execute([&] { core_->submits.wait(); });
            } catch (...) {}
        }
    }

    friend detail::executor_core& detail::core_of(chunked_executor& ex) noexcept;

    executor_options options_;
    std::unique_ptr<detail::executor_core> core_;
};

inline detail::executor_core& detail::core_of(chunked_executor& ex) noexcept { return *ex.core_; }

// --- the default executor and the one-line forms ----------------------------------------------------

/// The process-wide executor: max_concurrency = workers_for(workload::cpu_bound), which honours
/// PAREX_NUM_THREADS. Built on first use, thread-safe; destroyed at exit, after waiting for its tasks.
/// Throws parex::invalid_argument (on every call until it is fixed) when PAREX_NUM_THREADS is invalid.
inline chunked_executor& default_executor() {
    static chunked_executor executor;
    return executor;
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

/// default_executor().submit(f, stop).
template <task_function F>
auto submit(F f, std::stop_token stop = {}) {
    return default_executor().submit(std::move(f), std::move(stop));
}

}  // namespace parex
