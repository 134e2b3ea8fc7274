#pragma once
// parex/detail/pool_entries.hpp: what worker_pool's queue holds: the entries of map and for_each
// batches (a submitted task's entry is worker_pool::single_task), each worker's counters, and how a
// task is called with its worker's State.

#include <parex/detail/run_state.hpp>
#include <parex/run_control.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace parex::detail {

/// What a worker of worker_pool<> (no state) holds: nothing; its tasks are called without it.
struct no_state {};
template <class State>
using pool_state = std::conditional_t<std::is_void_v<State>, no_state, State>;

/// f(state, args...) for a pool with a State, f(args...) for worker_pool<>.
template <class State, class F, class... A>
decltype(auto) pool_invoke(F& f, pool_state<State>& state, A&&... args) {
    if constexpr (std::is_void_v<State>)
        return f(std::forward<A>(args)...);
    else
        return f(state, std::forward<A>(args)...);
}

/// The result of a submitted task: f called with the state, a stop token when it takes one, and args.
template <bool WithStop, class State, class F, class... A>
struct pool_result {
    using type =
        decltype(pool_invoke<State>(std::declval<F&>(), std::declval<pool_state<State>&>(), std::declval<A&>()...));
};
template <class State, class F, class... A>
struct pool_result<true, State, F, A...> : pool_result<false, State, F, std::stop_token, A...> {};

/// One worker's counters, on its own cache line (worker_pool::statistics reads them).
struct alignas(64) pool_counters {
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

/// A queue entry of a worker_pool whose workers hold a State: run on a worker with its state, or
/// cancel without running.
template <class State>
struct pool_entry {
    pool_entry() = default;
    pool_entry(const pool_entry&) = delete;
    pool_entry& operator=(const pool_entry&) = delete;
    virtual ~pool_entry() = default;
    virtual void run(State& state, pool_counters& counters) = 0;
    virtual void cancel() noexcept = 0;
};

/// The shared bookkeeping of one map/for_each call, and one entry per batch. `pending` is read and
/// written under `m` only: the caller returns (and destroys the group) only after the last batch
/// has released `m`, so no worker touches the group after that.
struct batch_group {
    batch_group(const run_options& run, std::size_t batches) : state(run, batches, false), pending(batches) {}
    detail::run_state state;
    std::mutex m;
    std::condition_variable all_done;
    std::size_t pending;  // batches neither run nor cancelled; guarded by m
    void finish_one() {
        std::lock_guard lock(m);
        if (--pending == 0) all_done.notify_all();
    }
    bool finished() {
        std::lock_guard lock(m);
        return pending == 0;
    }
};

/// The entry of `body`'s calls for inputs [begin, end) of one map/for_each call.
template <class State, class Body>
struct batch_entry final : pool_entry<State> {
    batch_entry(batch_group* g, Body* b, std::size_t first, std::size_t last)
        : group(g),
          body(b),
          begin(first),
          end(last) {}
    void run(State& state, pool_counters& counters) override {
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
        group->finish_one();  // last: the caller may destroy the group once it returns
    }
    void cancel() noexcept override { group->finish_one(); }
    batch_group* group;
    Body* body;
    std::size_t begin, end;
};

}  // namespace parex::detail
