#pragma once
// What a chunked_executor's operations share (its arena, task groups and serial gate), and the three
// ways work enters it: run on the calling thread, run in parallel, and run as a queued task. Every
// guarantee of docs/chunked_executor.md about concurrency and nesting is kept here.

#include <parex/detail/arena_pool.hpp>
#include <parex/errors.hpp>

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <type_traits>
#include <utility>

namespace parex::detail {

struct executor_core;

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

/// Never moves (tasks and worker_local refer to it), so the executor owns it through a pointer.
///
/// An executor of one is serial: its work never runs on two threads at once. oneTBB before 2021.10
/// gives an arena of one a second slot (oneTBB pull request #1128), so the arena cannot bound it:
/// chunks, stages and combines run on the calling thread without spawning, and every piece of work
/// (those, and each queued task) holds `serial_gate` while it runs. Nothing can be stolen from a holder,
/// so no thread waits on the gate for work that a waiter holds, unless the holder itself waits, through
/// another executor's threads, for more of this executor's work (which one slot cannot run at once).
/// The gate is recursive: a thread holding it may reach this executor again through another one.
struct executor_core {
    explicit executor_core(std::size_t concurrency)
        // An arena of one slot reserves none for callers: queued tasks need a worker to run on.
        : arena_handle(arena_pool::take({static_cast<int>(concurrency), concurrency > 1 ? 1u : 0u})),
          arena(*arena_handle),
          concurrency(concurrency) {}

    static constexpr auto traits = tbb::task_group_context::default_traits | tbb::task_group_context::concurrent_wait;
    arena_pool::handle arena_handle;  // returned to the pool after the task groups are destroyed
    tbb::task_arena& arena;
    std::size_t concurrency;           // max_concurrency()
    std::recursive_mutex serial_gate;  // serial() only: held by the one thread running the executor's work
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

    [[nodiscard]] bool serial() const noexcept { return concurrency == 1; }
    /// Slot indices a thread may hold while running this executor's work: [0, slots()).
    [[nodiscard]] std::size_t slots() const noexcept { return concurrency; }
    /// Whether the calling thread is running this executor's work (so holds a slot, and the gate).
    [[nodiscard]] bool running_here() const noexcept { return running_core == this; }

    /// Runs f() as this executor's work on the calling thread, spawning nothing: in place when the
    /// thread already runs its work; otherwise holding the serial gate, or an arena slot (so that
    /// worker_local finds one) on an executor of more than one.
    template <class F>
    decltype(auto) on_this_thread(F&& f) {
        if (running_here()) return f();
        if (serial()) {
            const std::lock_guard hold(serial_gate);
            const running_on here(this);
            return f();
        }
        return arena.execute([&]() -> decltype(auto) {
            const running_on here(this);
            return f();
        });
    }

    /// Runs f(), which spawns oneTBB work into this arena and waits for it (never on a serial
    /// executor). Called from inside the executor's own work, f runs isolated: while its thread waits
    /// it runs only the work f spawned, never another outer chunk, stage or task, so no outer piece of
    /// work sees another's worker_local State. Each task f spawns marks itself with running_on.
    template <class F>
    decltype(auto) in_parallel(F&& f) {
        if (running_here()) return tbb::this_task_arena::isolate(std::forward<F>(f));
        return arena.execute(std::forward<F>(f));
    }

    /// Runs f() as the body of a task that oneTBB took from this arena's queue.
    template <class F>
    void as_queued_task(F&& f) {
        if (serial()) {
            const std::lock_guard hold(serial_gate);
            const running_on here(this);
            f();
            return;
        }
        const running_on here(this);
        f();
    }

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

/// The slot of the calling thread in `core`: in [0, core.slots()), held by no other thread while this
/// one runs the executor's work (on a serial executor, slot 0 under the gate). Throws
/// parex::logic_error outside that work.
inline std::size_t current_slot(const executor_core& core) {
    if (running_core != &core)
        throw parex::logic_error("parex: per-worker state used outside a chunk, stage or task of its executor");
    if (core.serial()) return 0;
    const int slot = tbb::this_task_arena::current_thread_index();
    if (slot < 0 || static_cast<std::size_t>(slot) >= core.slots())
        throw parex::logic_error("parex: per-worker state used on a thread outside its executor's arena");
    return static_cast<std::size_t>(slot);
}

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
        core->as_queued_task([&] {
            try {
                fn();
            } catch (...) {
                core->run_failed(std::current_exception());
            }
        });
    }
};

}  // namespace parex::detail
