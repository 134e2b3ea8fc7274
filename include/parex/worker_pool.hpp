#pragma once
// parex/worker_pool.hpp: a pool of long-lived dedicated threads, each owning a State that its
// initializer built once, on that worker's thread, before its first task. Every task gets its worker's
// State& (worker_pool<> has no state: tasks take none). Work is submitted one task at a time (submit,
// with a future, a stop token and a deadline) or in batches (map, for_each: one queue operation per
// batch). The pool lives as long as its owner wants; its destructor drains the queue.
//
// For data-parallel work and short tasks, chunked_executor (with worker_local for per-worker state) is
// the faster choice; the pool is for long-lived stateful services and I/O-bound calls with deadlines.
//
// Why std::jthread and not a oneTBB task_arena: the initializer must run exactly once per worker, on
// that worker, before its first task, and a failing initializer must fail construction. oneTBB decides
// which threads join an arena and when, so per-slot state there is built lazily, on first use; a
// thread that never joins never initialises, and a failure surfaces in some task instead of the
// constructor. Dedicated threads give those guarantees directly.

#include <parex/detail/deadline_watcher.hpp>
#include <parex/detail/pool_entries.hpp>
#include <parex/detail/run_state.hpp>
#include <parex/errors.hpp>
#include <parex/run_control.hpp>
#include <parex/topology.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// F can be a task of a worker_pool<State> with arguments A: f(State&, a...) (f(a...) when State is void).
template <class F, class State, class... A>
concept pool_task = (std::is_void_v<State> && std::invocable<F&, A&...>) ||
                    (!std::is_void_v<State> && std::invocable<F&, detail::pool_state<State>&, A&...>);

// The copies the compiler writes for pool_options read `workers`: only a use of that name by the
// program is reported as deprecated (clang reports the implicit copy at the struct otherwise).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
/// Construction options of worker_pool.
struct pool_options {
    /// The name of max_concurrency in parex 0.1, kept for one release; used when max_concurrency is 0.
    [[deprecated("use max_concurrency")]] std::size_t workers = 0;
    /// Number of workers, so the most tasks that run at once (the word of executor_options too);
    /// 0 = workers_for(workload::cpu_bound), which honours PAREX_NUM_THREADS. For I/O-bound tasks pass
    /// workers_for(workload::io_bound).
    std::size_t max_concurrency = 0;
    /// What the destructor does with queued tasks: run them (true) or cancel them (false).
    bool drain_on_destroy = true;
};
#pragma GCC diagnostic pop

/// Options of worker_pool::map and for_each.
struct batch_options {
    /// Inputs per queue entry. Larger batches cost fewer queue operations; smaller ones balance better.
    std::size_t batch = 1;
};

/// Counters of one worker; read them with worker_pool::statistics().
struct worker_statistics {
    std::size_t tasks = 0;                    ///< tasks run: a submitted task counts one, a map batch one per input
    std::size_t batches = 0;                  ///< queue entries that ran at least one task
    std::chrono::nanoseconds busy{0};         ///< time spent running tasks
    std::chrono::nanoseconds initializer{0};  ///< time the initializer took
};

/// A pool of `options.max_concurrency` threads, worker i owning the State that `init(i)` returned on it.
/// worker_pool<> (State = void) has no state and no initializer: its tasks take no State argument.
///
/// Thread-safe: any thread may submit. A task that calls map or for_each on its own pool does not
/// deadlock: while its batches are pending, the waiting worker runs queued entries itself (with its own
/// State). A task that blocks on the std::future of another task of the same pool can deadlock if
/// every worker does so; use map or for_each from inside tasks.
template <class State = void>
class worker_pool {
    using state_type = detail::pool_state<State>;

public:
    /// Starts the workers and waits until every initializer has returned.
    /// `init(std::size_t worker_index)` returns the State (it may be neither copyable nor movable).
    /// If an initializer throws, every worker is stopped (states already built are destroyed) and the
    /// first initializer exception is rethrown here. Throws parex::invalid_argument when
    /// PAREX_NUM_THREADS is needed (workers == 0) and invalid, std::system_error when a thread cannot
    /// be started.
    template <class Init>
        requires(!std::is_void_v<State>) && std::invocable<Init&, std::size_t> &&
                std::same_as<std::remove_cvref_t<std::invoke_result_t<Init&, std::size_t>>, State>
    worker_pool(pool_options options, Init init) : worker_pool(options, init, start_tag{}) {}

    template <class Init>
        requires(!std::is_void_v<State>) && std::invocable<Init&, std::size_t>
    explicit worker_pool(Init init) : worker_pool(pool_options{}, std::move(init)) {}

    /// worker_pool<>: starts `options.max_concurrency` stateless workers.
    explicit worker_pool(pool_options options = {})
        requires std::is_void_v<State>
        : worker_pool(options, no_init, start_tag{}) {}

    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    /// Drains the queue (or cancels it, see pool_options), stops the workers and destroys their
    /// states, each on its own thread. Tasks already running, and the batches they map on this pool,
    /// complete. No task runs after the destructor returns.
    ~worker_pool() { shutdown(drain_on_destroy_); }

    /// The number of workers: the most tasks that run at once.
    [[nodiscard]] std::size_t max_concurrency() const noexcept { return slots_.size(); }
    [[deprecated("use max_concurrency()")]] [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }

    /// Queues f(state, args...) (f(args...) for worker_pool<>) and returns its future. If f takes a
    /// std::stop_token after the state it gets one (see task_options).
    /// Throws parex::logic_error once the destructor has started, unless called from a task of this pool.
    template <class F, class... Args>
        requires pool_task<F, State, Args...> || pool_task<F, State, std::stop_token, Args...>
    auto submit(F f, Args... args) {
        return submit(task_options{}, std::move(f), std::move(args)...);
    }

    /// submit() with a stop token and/or a deadline. A deadline already past settles the future with
    /// task_timeout at once; the task never runs.
    template <class F, class... Args>
        requires pool_task<F, State, Args...> || pool_task<F, State, std::stop_token, Args...>
    auto submit(task_options options, F f, Args... args) {
        using task = single_task<F, Args...>;
        auto job =
            std::make_shared<task>(this, std::move(f), std::tuple<Args...>(std::move(args)...), std::move(options));
        auto future = job->promise.get_future();
        if (job->deadline && clock::now() >= *job->deadline) {
            job->time_out();
            return future;
        }
        enqueue(job);
        if (job->deadline) watcher_.watch(job);
        return future;
    }

    /// Runs f(state, input) (f(input) for worker_pool<>) for every input, `options.batch` inputs per
    /// queue entry, and returns the results in input order. Blocks until all ran. The first exception
    /// thrown stops the call (batches not yet started are skipped, inputs after the failing one in its
    /// batch too) and is rethrown; `run.stop` cancels with operation_cancelled; `run.on_progress` counts
    /// finished batches. Throws parex::invalid_argument when options.batch == 0, parex::logic_error once
    /// the destructor has started unless called from a task of this pool.
    template <std::ranges::random_access_range Inputs, class F>
        requires pool_task<F, State, std::ranges::range_reference_t<const Inputs>>
    auto map(const Inputs& inputs, F f, batch_options options = {}, const run_options& run = {}) {
        using input = std::ranges::range_reference_t<const Inputs>;
        using result = std::remove_cvref_t<decltype(detail::pool_invoke<State>(f, std::declval<state_type&>(),
                                                                               std::declval<input>()))>;
        static_assert(!std::is_void_v<result>, "parex: map needs a function that returns a value; use for_each");
        std::vector<std::optional<result>> slots(std::ranges::size(inputs));
        run_batches(std::ranges::size(inputs), options, run, [&](state_type& state, std::size_t i) {
            slots[i].emplace(
                detail::pool_invoke<State>(f, state, std::ranges::begin(inputs)[static_cast<std::ptrdiff_t>(i)]));
        });
        std::vector<result> results;
        results.reserve(slots.size());
        for (auto& slot : slots) results.push_back(std::move(*slot));
        return results;
    }

    /// map() without results.
    template <std::ranges::random_access_range Inputs, class F>
        requires pool_task<F, State, std::ranges::range_reference_t<const Inputs>>
    void for_each(const Inputs& inputs, F f, batch_options options = {}, const run_options& run = {}) {
        run_batches(std::ranges::size(inputs), options, run, [&](state_type& state, std::size_t i) {
            detail::pool_invoke<State>(f, state, std::ranges::begin(inputs)[static_cast<std::ptrdiff_t>(i)]);
        });
    }

    /// Drops every queued entry: submitted tasks' futures throw task_cancelled; a map or for_each
    /// whose batches are dropped throws operation_cancelled. Running tasks are not touched (the word and
    /// the meaning of chunked_executor::cancel). Returns the number of entries dropped.
    std::size_t cancel() {
        std::deque<std::shared_ptr<entry>> dropped;
        {
            std::lock_guard lock(mutex_);
            dropped.swap(queue_);
        }
        for (auto& e : dropped) e->cancel();
        return dropped.size();
    }

    [[deprecated("use cancel()")]] std::size_t cancel_pending() { return cancel(); }

    /// A snapshot of every worker's counters, indexed by worker.
    [[nodiscard]] std::vector<worker_statistics> statistics() const {
        std::vector<worker_statistics> out;
        out.reserve(slots_.size());
        for (const auto& s : slots_)
            out.push_back({s.tasks.load(std::memory_order_relaxed), s.batches.load(std::memory_order_relaxed),
                           std::chrono::nanoseconds(s.busy_ns.load(std::memory_order_relaxed)),
                           std::chrono::nanoseconds(s.init_ns.load(std::memory_order_relaxed))});
        return out;
    }

    /// Submitted tasks with a deadline that have not yet settled (run, failed, cancelled or timed out).
    /// A task leaves the deadline watcher, and frees its memory, when it settles.
    [[nodiscard]] std::size_t watched_deadlines() const { return watcher_.size(); }

private:
    using clock = std::chrono::steady_clock;
    static std::size_t requested_workers(const pool_options& options) noexcept {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // the old name still works for one release
        return options.max_concurrency > 0 ? options.max_concurrency : options.workers;
#pragma GCC diagnostic pop
    }

    struct start_tag {};
    static state_type no_init(std::size_t) { return {}; }

    /// Starts the workers; the public constructors' body.
    template <class Init>
    worker_pool(pool_options options, Init& init, start_tag)
        : drain_on_destroy_(options.drain_on_destroy),
          slots_(workers_for(workload::cpu_bound, requested_workers(options))) {
        std::unique_lock lock(mutex_);
        try {
            for (std::size_t i = 0; i < slots_.size(); ++i)
                threads_.emplace_back([this, i, &init] { worker_main(i, init); });
        } catch (...) {  // no thread could be started: stop those that were
            init_error_ = std::current_exception();
            started_ += slots_.size() - threads_.size();
        }
        ready_.wait(lock, [&] { return started_ == slots_.size(); });
        if (init_error_) {
            lock.unlock();
            shutdown(false);
            std::rethrow_exception(init_error_);
        }
    }

    using slot = detail::pool_counters;
    using entry = detail::pool_entry<state_type>;
    using batch_group = detail::batch_group;
    template <class Body>
    using batch_entry = detail::batch_entry<state_type, Body>;

    /// A submitted task: a queue entry that the deadline watcher may also settle.
    struct task_entry : entry, detail::deadline_watcher::task {
        worker_pool* pool = nullptr;
    };

    /// One submitted task. Its promise is settled exactly once: by the run, by cancel(), or by the
    /// deadline (at the watcher, or found passed when a worker takes the task), whichever comes first.
    template <class F, class... Args>
    struct single_task final : task_entry {
        static constexpr bool takes_stop = pool_task<F, State, std::stop_token, Args...>;
        using result = typename detail::pool_result<takes_stop, State, F, Args...>::type;

        single_task(worker_pool* owner, F f, std::tuple<Args...> args, task_options options)
            : fn(std::move(f)),
              arguments(std::move(args)),
              // A stop state (a heap allocation) only for a task that can be stopped while it runs.
              stop(takes_stop && (options.stop.stop_possible() || options.deadline)
                       ? std::stop_source{}
                       : std::stop_source{std::nostopstate}),
              caller_stop(std::move(options.stop)),
              forward(caller_stop, request{&stop}) {
            this->pool = owner;
            this->deadline = options.deadline;
        }

        void run(state_type& state, slot& counters) override {
            if (this->deadline && clock::now() >= *this->deadline) {  // passed while queued: never runs
                time_out();
                return;
            }
            if (caller_stop.stop_requested()) {  // cancelled before it started
                settle([&] { promise.set_exception(std::make_exception_ptr(task_cancelled{})); });
                return;
            }
            const auto start = clock::now();
            try {
                if constexpr (std::is_void_v<result>) {
                    invoke(state);
                    counters.record(1, start);
                    settle([&] { promise.set_value(); });
                } else {
                    auto value = invoke(state);
                    counters.record(1, start);
                    settle([&] { promise.set_value(std::move(value)); });
                }
            } catch (...) {
                counters.record(1, start);
                settle([&] { promise.set_exception(std::current_exception()); });
            }
        }
        void cancel() noexcept override {
            if (settle([&] { promise.set_exception(std::make_exception_ptr(task_cancelled{})); })) stop.request_stop();
        }
        /// Settles first, then stops: a worker that sees the stop finds the future already settled, so
        /// a task whose deadline passed always reports task_timeout.
        void time_out() noexcept override {
            if (settle([&] { promise.set_exception(std::make_exception_ptr(task_timeout{})); })) stop.request_stop();
        }

        decltype(auto) invoke(state_type& state) {
            return std::apply(
                [&](Args&... a) -> result {
                    if constexpr (takes_stop)
                        return detail::pool_invoke<State>(fn, state, stop.get_token(), a...);
                    else
                        return detail::pool_invoke<State>(fn, state, a...);
                },
                arguments);
        }
        /// If this is the first settlement: leaves the deadline watcher, then runs `set`, so that a
        /// future that is ready never has its task still held by the watcher.
        template <class Set>
        bool settle(Set set) noexcept {
            if (this->settled.exchange(true, std::memory_order_acq_rel)) return false;
            if (this->deadline) this->pool->watcher_.unwatch(*this);
            try {
                set();
            } catch (...) {  // NOLINT(bugprone-empty-catch): promise errors cannot happen, it is settled once
            }
            return true;
        }

        struct request {
            std::stop_source* target;
            void operator()() const noexcept { target->request_stop(); }
        };

        F fn;
        std::tuple<Args...> arguments;
        std::promise<result> promise;
        std::stop_source stop;
        std::stop_token caller_stop;
        std::stop_callback<request> forward;  // the caller's stop reaches this task's token
    };

    template <class Body>
    void run_batches(std::size_t n, batch_options options, const run_options& run, Body body) {
        if (options.batch == 0) throw parex::invalid_argument("parex: worker_pool batch size must be positive");
        const auto batches = (n + options.batch - 1) / options.batch;
        batch_group group(run, batches);
        {
            std::lock_guard lock(mutex_);
            refuse_after_shutdown();
            for (std::size_t b = 0; b < batches; ++b)
                queue_.push_back(std::make_shared<batch_entry<Body>>(&group, &body, b * options.batch,
                                                                     std::min(n, (b + 1) * options.batch)));
        }
        work_available_.notify_all();
        wait_helping(group);
        group.state.finish();
    }

    /// Waits for a group's batches; a worker of this pool runs queued entries meanwhile.
    void wait_helping(batch_group& group) {
        if (current_pool == this) {
            auto& slot = slots_[current_worker];
            while (!group.finished()) {
                std::shared_ptr<entry> next;
                {
                    std::lock_guard lock(mutex_);
                    if (!queue_.empty()) {
                        next = std::move(queue_.front());
                        queue_.pop_front();
                    }
                }
                if (next) {
                    next->run(*current_state, slot);
                } else {  // our batches run on other workers: sleep until one finishes, or new work may be queued
                    std::unique_lock lock(group.m);
                    group.all_done.wait_for(lock, std::chrono::microseconds(200), [&] { return group.pending == 0; });
                }
            }
            return;
        }
        std::unique_lock lock(group.m);
        group.all_done.wait(lock, [&] { return group.pending == 0; });
    }

    /// Under mutex_: once shutdown has begun only the pool's own tasks may add work (the workers drain it).
    void refuse_after_shutdown() const {
        if (stopping_ && current_pool != this) throw parex::logic_error("parex: worker_pool is shutting down");
    }

    void enqueue(std::shared_ptr<entry> e) {
        {
            std::lock_guard lock(mutex_);
            refuse_after_shutdown();
            queue_.push_back(std::move(e));
        }
        work_available_.notify_one();
    }

    template <class Init>
    void worker_main(std::size_t index, Init& init) {
        auto& s = slots_[index];
        const auto start = clock::now();
        std::optional<state_type> state;  // built in place by init: State need not be movable
        try {
            state.emplace(make_state<Init>{init, index});
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!init_error_) init_error_ = std::current_exception();
            ++started_;
            ready_.notify_all();
            return;
        }
        s.init_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - start).count(),
                        std::memory_order_relaxed);
        current_pool = this;
        current_worker = index;
        current_state = &*state;
        {
            std::lock_guard lock(mutex_);
            ++started_;
            ready_.notify_all();
        }
        for (;;) {
            std::shared_ptr<entry> next;
            {
                std::unique_lock lock(mutex_);
                work_available_.wait(lock, [&] { return !queue_.empty() || stopping_; });
                if (queue_.empty()) break;  // stopping, and nothing left to drain
                next = std::move(queue_.front());
                queue_.pop_front();
            }
            next->run(*state, s);
        }
        current_pool = nullptr;
        current_state = nullptr;
        // `state` is destroyed here, on this worker's thread, before the destructor's join returns.
    }

    /// Lets std::optional::emplace build State from init's prvalue (guaranteed copy elision).
    template <class Init>
    struct make_state {
        Init& init;
        std::size_t index;
        operator state_type() const { return init(index); }  // NOLINT(google-explicit-constructor)
    };

    void shutdown(bool drain) {
        if (!drain) cancel();
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        work_available_.notify_all();
        threads_.clear();  // joins
        watcher_.stop();
    }

    // Which pool and worker the current thread is, so that waits inside tasks can help.
    static inline thread_local const worker_pool* current_pool = nullptr;
    static inline thread_local std::size_t current_worker = 0;
    static inline thread_local state_type* current_state = nullptr;

    bool drain_on_destroy_;
    std::vector<slot> slots_;
    std::mutex mutex_;
    std::condition_variable work_available_;
    std::condition_variable ready_;
    std::deque<std::shared_ptr<entry>> queue_;
    bool stopping_ = false;
    std::size_t started_ = 0;
    std::exception_ptr init_error_;

    detail::deadline_watcher watcher_;  // started by the first task with a deadline

    std::vector<std::jthread> threads_;  // last: destroyed (joined) first if construction fails midway
};

}  // namespace parex
