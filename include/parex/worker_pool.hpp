#pragma once
// parex/worker_pool.hpp: a pool of long-lived workers, each owning a State that its initializer built
// once, on that worker's thread, before its first task. Every task gets its worker's State&. Work is
// submitted one task at a time (submit, with a future) or in batches (map, for_each: one queue
// operation per batch). The pool lives as long as its owner wants; its destructor drains the queue.
//
// Why std::jthread and not a oneTBB task_arena: the initializer must run exactly once per worker, on
// that worker, before its first task, and a failing initializer must fail construction. oneTBB decides
// which threads join an arena and when, so per-slot state there is built lazily, on first use; a
// thread that never joins never initialises, and a failure surfaces in some task instead of the
// constructor. Dedicated threads give those guarantees directly.

#include <parex/detail/run_state.hpp>
#include <parex/run_control.hpp>
#include <parex/topology.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <ranges>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace parex {

/// The future of a task dropped by worker_pool::cancel_pending() or by a stop request before it ran.
class task_cancelled : public std::runtime_error {
public:
    task_cancelled() : std::runtime_error("parex: task cancelled before it ran") {}
};

/// The future of a task whose deadline passed (before it ran, or while it ran: then its stop token is
/// requested and its eventual result is discarded).
class task_timeout : public std::runtime_error {
public:
    task_timeout() : std::runtime_error("parex: task deadline passed") {}
};

/// Construction options of worker_pool.
struct pool_options {
    /// Number of workers; 0 = workers_for(workload::cpu_bound), which honours PAREX_NUM_THREADS.
    /// For I/O-bound tasks pass workers_for(workload::io_bound).
    std::size_t workers = 0;
    /// What the destructor does with queued tasks: run them (true) or cancel them (false).
    bool drain_on_destroy = true;
};

/// Per-task options of worker_pool::submit.
struct task_options {
    /// Cooperative cancellation: requested before the task starts, the task is dropped (its future
    /// throws task_cancelled); requested while it runs, a task that takes a std::stop_token sees it.
    std::stop_token stop{};
    /// Past this time a task that has not started is dropped and one that runs sees stop requested;
    /// either way its future throws task_timeout at the deadline. Empty = no deadline.
    std::optional<std::chrono::steady_clock::time_point> deadline{};
};

/// Options of worker_pool::map and for_each.
struct batch_options {
    /// Inputs per queue entry. Larger batches cost fewer queue operations; smaller ones balance better.
    std::size_t batch = 1;
};

/// Counters of one worker; read them with worker_pool::statistics().
struct worker_statistics {
    std::size_t tasks = 0;  ///< tasks run: a submitted task counts one, a map batch one per input
    std::size_t batches = 0;  ///< queue entries that ran at least one task
    std::chrono::nanoseconds busy{0};  ///< time spent running tasks
    std::chrono::nanoseconds initializer{0};  ///< time the initializer took
};

/// A pool of `options.workers` threads, worker i owning the State that `init(i)` returned on it.
///
/// Thread-safe: any thread may submit. A task that calls map or for_each on its own pool does not
/// deadlock: while its batches are pending, the waiting worker runs queued entries itself (with its own
/// State). A task that blocks on the std::future of another task of the same pool can deadlock if
/// every worker does so; use map or for_each from inside tasks.
template <class State>
class worker_pool {
public:
    /// Starts the workers and waits until every initializer has returned.
    /// `init(std::size_t worker_index)` returns the State (it may be neither copyable nor movable).
    /// If an initializer throws, every worker is stopped (states already built are destroyed) and the
    /// first initializer exception is rethrown here. Throws std::invalid_argument when
    /// PAREX_NUM_THREADS is needed (workers == 0) and invalid.
    template <class Init>
        requires std::invocable<Init&, std::size_t> &&
                 std::same_as<std::remove_cvref_t<std::invoke_result_t<Init&, std::size_t>>, State>
    worker_pool(pool_options options, Init init)
        : drain_on_destroy_(options.drain_on_destroy),
          slots_(workers_for(workload::cpu_bound, options.workers)) {
        std::unique_lock lock(mutex_);
        try {
            for (std::size_t i = 0; i < slots_.size(); ++i) threads_.emplace_back([this, i, &init] { worker_main(i, init); });
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

    template <class Init>
        requires std::invocable<Init&, std::size_t>
    explicit worker_pool(Init init) : worker_pool(pool_options{}, std::move(init)) {}

    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    /// Drains the queue (or cancels it, see pool_options), stops the workers and destroys their
    /// states, each on its own thread. No task runs after the destructor returns.
    ~worker_pool() { shutdown(drain_on_destroy_); }

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }

    /// Queues f(state, args...) and returns its future. If f is invocable as
    /// f(State&, std::stop_token, args...) it gets a token (see task_options).
    template <class F, class... Args>
        requires std::invocable<F&, State&, Args&...> || std::invocable<F&, State&, std::stop_token, Args&...>
    auto submit(F f, Args... args) {
        return submit(task_options{}, std::move(f), std::move(args)...);
    }

    /// submit() with a stop token and/or a deadline.
    template <class F, class... Args>
        requires std::invocable<F&, State&, Args&...> || std::invocable<F&, State&, std::stop_token, Args&...>
    auto submit(task_options options, F f, Args... args) {
        using result = typename task_traits<F, Args...>::result;
        auto job = std::make_shared<single_task<F, result, Args...>>(std::move(f), std::tuple<Args...>(std::move(args)...),
                                                                      std::move(options.stop));
        auto future = job->promise.get_future();
        if (options.deadline) watch_deadline(*options.deadline, job);
        enqueue(std::move(job));
        return future;
    }

    /// Runs f(state, input) for every input, `options.batch` inputs per queue entry, and returns the
    /// results in input order. Blocks until all ran. The first exception thrown stops the call (batches
    /// not yet started are skipped, inputs after the failing one in its batch too) and is rethrown;
    /// `run.stop` cancels with operation_cancelled; `run.on_progress` counts finished batches.
    /// Throws std::invalid_argument when options.batch == 0.
    template <std::ranges::random_access_range Inputs, class F>
        requires std::invocable<F&, State&, std::ranges::range_reference_t<const Inputs>>
    auto map(const Inputs& inputs, F f, batch_options options = {}, const run_options& run = {}) {
        using result = std::remove_cvref_t<std::invoke_result_t<F&, State&, std::ranges::range_reference_t<const Inputs>>>;
        static_assert(!std::is_void_v<result>, "parex: map needs a function that returns a value; use for_each");
        std::vector<std::optional<result>> slots(std::ranges::size(inputs));
        run_batches(std::ranges::size(inputs), options, run, [&](State& state, std::size_t i) {
            slots[i].emplace(f(state, std::ranges::begin(inputs)[static_cast<std::ptrdiff_t>(i)]));
        });
        std::vector<result> results;
        results.reserve(slots.size());
        for (auto& slot : slots) results.push_back(std::move(*slot));
        return results;
    }

    /// map() without results.
    template <std::ranges::random_access_range Inputs, class F>
        requires std::invocable<F&, State&, std::ranges::range_reference_t<const Inputs>>
    void for_each(const Inputs& inputs, F f, batch_options options = {}, const run_options& run = {}) {
        run_batches(std::ranges::size(inputs), options, run, [&](State& state, std::size_t i) {
            f(state, std::ranges::begin(inputs)[static_cast<std::ptrdiff_t>(i)]);
        });
    }

    /// Drops every queued entry: submitted tasks' futures throw task_cancelled; a map or for_each
    /// whose batches are dropped throws operation_cancelled. Running tasks are not touched.
    /// Returns the number of entries dropped.
    std::size_t cancel_pending() {
        std::deque<std::shared_ptr<entry>> dropped;
        {
            std::lock_guard lock(mutex_);
            dropped.swap(queue_);
        }
        for (auto& e : dropped) e->cancel();
        return dropped.size();
    }

    /// A snapshot of every worker's counters, indexed by worker.
    [[nodiscard]] std::vector<worker_statistics> statistics() const {
        std::vector<worker_statistics> out;
        for (const auto& s : slots_)
            out.push_back({s.tasks.load(std::memory_order_relaxed), s.batches.load(std::memory_order_relaxed),
                           std::chrono::nanoseconds(s.busy_ns.load(std::memory_order_relaxed)),
                           std::chrono::nanoseconds(s.init_ns.load(std::memory_order_relaxed))});
        return out;
    }

private:
    struct alignas(64) slot {  // one worker's counters, on its own cache line
        std::atomic<std::size_t> tasks{0}, batches{0};
        std::atomic<std::int64_t> busy_ns{0}, init_ns{0};

        /// Called by an entry before it signals completion, so that a caller who saw the completion
        /// also sees the counts.
        void record(std::size_t ran, std::chrono::steady_clock::time_point start) noexcept {
            if (ran == 0) return;
            const auto spent = std::chrono::steady_clock::now() - start;
            tasks.fetch_add(ran, std::memory_order_relaxed);
            batches.fetch_add(1, std::memory_order_relaxed);
            busy_ns.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(spent).count(),
                              std::memory_order_relaxed);
        }
    };

    /// A queue entry: run on a worker with its state, or cancel without running.
    struct entry {
        virtual ~entry() = default;
        virtual void run(State& state, slot& counters) = 0;
        virtual void cancel() noexcept = 0;
    };

    template <class F, class... Args>
    struct task_traits {
        static constexpr bool takes_stop = std::invocable<F&, State&, std::stop_token, Args&...>;
        using result = typename std::conditional_t<takes_stop, std::invoke_result<F&, State&, std::stop_token, Args&...>,
                                                   std::invoke_result<F&, State&, Args&...>>::type;
    };

    /// One submitted task. Its promise is settled exactly once: by the run, by cancel(), or by the
    /// deadline watcher, whichever comes first.
    template <class F, class R, class... Args>
    struct single_task final : entry {
        single_task(F f, std::tuple<Args...> args, std::stop_token caller)
            : fn(std::move(f)), arguments(std::move(args)), caller_stop(std::move(caller)),
              forward(caller_stop, request{&stop}) {}

        void run(State& state, slot& counters) override {
            if (stop.stop_requested()) {  // cancelled or timed out before it started
                settle([&] { promise.set_exception(std::make_exception_ptr(task_cancelled{})); });
                return;
            }
            const auto start = std::chrono::steady_clock::now();
            try {
                if constexpr (std::is_void_v<R>) {
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
            stop.request_stop();
            settle([&] { promise.set_exception(std::make_exception_ptr(task_cancelled{})); });
        }
        void time_out() noexcept {
            stop.request_stop();
            settle([&] { promise.set_exception(std::make_exception_ptr(task_timeout{})); });
        }

        decltype(auto) invoke(State& state) {
            return std::apply(
                [&](Args&... a) -> R {
                    if constexpr (task_traits<F, Args...>::takes_stop) return fn(state, stop.get_token(), a...);
                    else return fn(state, a...);
                },
                arguments);
        }
        template <class Set>
        void settle(Set set) noexcept {
            if (!settled.exchange(true)) {
                try {
                    set();
                } catch (...) {  // promise errors cannot happen: it is settled once
                }
            }
        }

        struct request {
            std::stop_source* target;
            void operator()() const noexcept { target->request_stop(); }
        };

        F fn;
        std::tuple<Args...> arguments;
        std::promise<R> promise;
        std::atomic<bool> settled{false};
        std::stop_source stop;
        std::stop_token caller_stop;
        std::stop_callback<request> forward;  // the caller's stop reaches this task's token
    };

    /// The shared bookkeeping of one map/for_each call, and one entry per batch.
    struct batch_group {
        batch_group(const run_options& run, std::size_t batches) : state(run, batches), pending(batches) {}
        detail::run_state state;
        std::atomic<std::size_t> pending;  // batches neither run nor cancelled
        std::mutex m;
        std::condition_variable all_done;
        void finish_one() {
            if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
                std::lock_guard lock(m);
                all_done.notify_all();
            }
        }
    };

    template <class Body>
    struct batch_entry final : entry {
        batch_entry(batch_group* g, Body* b, std::size_t first, std::size_t last)
            : group(g), body(b), begin(first), end(last) {}
        void run(State& state, slot& counters) override {
            const auto start = std::chrono::steady_clock::now();
            std::size_t ran = 0;
            if (!group->state.stopping()) {
                try {
                    for (auto i = begin; i < end && !group->state.stopping(); ++i, ++ran) (*body)(state, i);
                    if (ran == end - begin) group->state.unit_done();
                } catch (...) {
                    ++ran;
                    group->state.fail(std::current_exception());
                }
            }
            counters.record(ran, start);
            group->finish_one();
        }
        void cancel() noexcept override { group->finish_one(); }
        batch_group* group;
        Body* body;
        std::size_t begin, end;
    };

    template <class Body>
    void run_batches(std::size_t n, batch_options options, const run_options& run, Body body) {
        if (options.batch == 0) throw std::invalid_argument("parex: worker_pool batch size must be positive");
        const auto batches = (n + options.batch - 1) / options.batch;
        batch_group group(run, batches);
        {
            std::lock_guard lock(mutex_);
            if (stopping_) throw std::logic_error("parex: worker_pool is shutting down");
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
            while (group.pending.load(std::memory_order_acquire) > 0) {
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
                    group.all_done.wait_for(lock, std::chrono::microseconds(200),
                                            [&] { return group.pending.load(std::memory_order_acquire) == 0; });
                }
            }
            return;
        }
        std::unique_lock lock(group.m);
        group.all_done.wait(lock, [&] { return group.pending.load(std::memory_order_acquire) == 0; });
    }

    void enqueue(std::shared_ptr<entry> e) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) throw std::logic_error("parex: worker_pool is shutting down");
            queue_.push_back(std::move(e));
        }
        work_available_.notify_one();
    }

    template <class Init>
    void worker_main(std::size_t index, Init& init) {
        auto& s = slots_[index];
        const auto start = std::chrono::steady_clock::now();
        std::optional<State> state;  // built in place by init: State need not be movable
        try {
            state.emplace(make_state{init, index});
        } catch (...) {
            std::lock_guard lock(mutex_);
            if (!init_error_) init_error_ = std::current_exception();
            ++started_;
            ready_.notify_all();
            return;
        }
        s.init_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
                            .count(),
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
        operator State() const { return init(index); }  // NOLINT(google-explicit-constructor)
    };

    void shutdown(bool drain) {
        if (!drain) cancel_pending();
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        work_available_.notify_all();
        threads_.clear();  // joins
        stop_watcher();
    }

    // --- deadlines: one watcher thread, started by the first task that has a deadline ----------
    using deadline_item = std::pair<std::chrono::steady_clock::time_point, std::function<void()>>;
    struct later_first {
        bool operator()(const deadline_item& a, const deadline_item& b) const { return a.first > b.first; }
    };

    template <class Task>
    void watch_deadline(std::chrono::steady_clock::time_point when, const std::shared_ptr<Task>& task) {
        std::weak_ptr<Task> weak = task;
        {
            std::lock_guard lock(deadline_mutex_);
            deadlines_.emplace(when, [weak] {
                if (auto t = weak.lock()) t->time_out();
            });
            if (!watcher_.joinable()) watcher_ = std::jthread([this](std::stop_token stop) { watch(stop); });
        }
        deadline_changed_.notify_all();
    }

    void watch(std::stop_token stop) {
        std::unique_lock lock(deadline_mutex_);
        while (!stop.stop_requested()) {
            if (deadlines_.empty()) {
                deadline_changed_.wait(lock, stop, [&] { return !deadlines_.empty(); });
                continue;
            }
            const auto when = deadlines_.top().first;
            if (std::chrono::steady_clock::now() < when) {
                deadline_changed_.wait_until(lock, stop, when, [&] { return deadlines_.top().first < when; });
                continue;
            }
            auto fire = deadlines_.top().second;  // a copy: it holds only a weak_ptr
            deadlines_.pop();
            lock.unlock();
            fire();
            lock.lock();
        }
    }

    void stop_watcher() {
        if (watcher_.joinable()) {
            watcher_.request_stop();
            watcher_.join();
        }
    }

    // Which pool and worker the current thread is, so that waits inside tasks can help.
    static inline thread_local const worker_pool* current_pool = nullptr;
    static inline thread_local std::size_t current_worker = 0;
    static inline thread_local State* current_state = nullptr;

    bool drain_on_destroy_;
    std::vector<slot> slots_;
    std::mutex mutex_;
    std::condition_variable work_available_;
    std::condition_variable ready_;
    std::deque<std::shared_ptr<entry>> queue_;
    bool stopping_ = false;
    std::size_t started_ = 0;
    std::exception_ptr init_error_;

    std::mutex deadline_mutex_;
    std::condition_variable_any deadline_changed_;
    std::priority_queue<deadline_item, std::vector<deadline_item>, later_first> deadlines_;
    std::jthread watcher_;

    std::vector<std::jthread> threads_;  // last: destroyed (joined) first if construction fails midway
};

}  // namespace parex
