#pragma once
// What a chunked_executor's operations share (its arena, task groups, run() queue and serial gate), and
// the three ways work enters it: run on the calling thread, run in parallel, and run as a queued task.
// Every guarantee of docs/chunked_executor.md about concurrency and nesting is kept here.

#include <parex/detail/arena_pool.hpp>
#include <parex/detail/deadline_watcher.hpp>
#include <parex/detail/run_queue.hpp>
#include <parex/errors.hpp>

#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

#include <atomic>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
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
    // Isolated: a cancellation of whatever task first used a group must not reach it. Neither group is
    // ever cancelled: run() tasks are dropped through runs_cancelled, and each future settles itself.
    tbb::task_group_context runs_context{tbb::task_group_context::isolated, traits};
    tbb::task_group runs{runs_context};  // the drainers of run_queue
    tbb::task_group_context submits_context{tbb::task_group_context::isolated, traits};
    tbb::task_group submits{submits_context};  // submit()
    deadline_watcher deadlines;                // submit() with a deadline: a thread, started on first use

    // run() / wait(). A task given to run() waits in run_queue; at most `concurrency` drainers (oneTBB
    // tasks in `runs`) pop and run the queued tasks until the queue is empty, and wait() runs them too.
    // One oneTBB task per drainer rather than one per run() task: the caller pays a push onto
    // run_queue, where a oneTBB task would cost an allocation and a push into the arena's shared queue
    // from outside it (docs/benchmarks.md, "tasks/... without futures").
    detail::run_queue run_queue;
    // Each on a cache line of its own: the callers of run() touch `drainers`, the drainers read
    // `runs_cancelled` for every task and add to `runs_started` for every batch.
    alignas(64) std::atomic<std::size_t> drainers{0};      // drainers queued or running
    alignas(64) std::atomic<bool> runs_cancelled{false};   // cancel() or a task's exception: none starts until wait()
    alignas(64) std::atomic<std::size_t> runs_started{0};  // run() tasks started since the last wait()
    // The first exception a run() task threw since the last wait(). Kept here, not carried by oneTBB,
    // so that it crosses to wait() with the caller's own standard library (libtbb may use another).
    std::mutex runs_error_mutex;
    std::exception_ptr runs_error;
    // A drainer that has run this many tasks queues itself again behind the arena's other queued work
    // (submit() tasks, other callers' chunks), so that a long run() stream does not hold a thread.
    static constexpr std::size_t drainer_batch = 256;

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

    /// Queues a run() task and starts a drainer unless `concurrency` are already queued or running.
    /// Throws std::bad_alloc, with the task dropped, if it cannot be queued.
    void push_run(queued_task task) {
        try {
            run_queue.push(task);
        } catch (...) {
            task.drop();
            throw;
        }
        // A read-modify-write, not a load: either it reads a leaving drainer's decrement, or that
        // decrement reads this one's value and so sees the push before it, and the drainer finds the
        // task in the queue. No task is left with no drainer to run it.
        std::size_t running = drainers.fetch_add(0);
        while (running < concurrency)
            if (drainers.compare_exchange_weak(running, running + 1)) {
                try {
                    start_drainer();
                } catch (...) {  // the task stays queued: a later run() or wait() runs it
                    drainers.fetch_sub(1);
                    throw;
                }
                return;
            }
    }

    /// Runs queued run() tasks on the calling thread, which is in the arena (or, on a serial executor,
    /// anywhere), until the queue is empty, run() tasks are cancelled, or `limit` have run; true if the
    /// limit stopped it. On a serial executor a task is taken from the queue under the gate, so the
    /// tasks run in the order the queue gives them.
    bool run_queued(std::size_t limit) {
        queued_task task;
        std::size_t started = 0;
        bool took = true;
        while (took && started < limit && !runs_cancelled.load(std::memory_order_relaxed)) {
            as_queued_task([&] {
                took = run_queue.try_pop(task);
                if (!took) return;
                try {
                    task.run();
                } catch (...) {
                    run_failed(std::current_exception());
                }
            });
            if (took) ++started;
        }
        runs_started.fetch_add(started, std::memory_order_relaxed);
        return started == limit;
    }

    /// wait()'s and the destructor's: runs queued run() tasks on the calling thread and waits for the
    /// drainers; afterwards no run() task runs or is queued, except those a concurrent run() adds.
    /// Returns how many queued tasks it dropped because run() tasks were cancelled (by cancel() or an
    /// exception); only then does it drop any.
    std::size_t finish_runs() {
        if (serial()) {
            run_queued(std::numeric_limits<std::size_t>::max());  // each under the gate
            arena.execute([&] { runs.wait(); });
        } else {
            arena.execute([&] {
                run_queued(std::numeric_limits<std::size_t>::max());
                runs.wait();
            });
        }
        std::size_t dropped = 0;
        if (runs_cancelled.load(std::memory_order_relaxed))
            for (queued_task task; run_queue.try_pop(task); ++dropped) task.drop();
        return dropped;
    }

    /// Keeps `error` if it is the first since the last wait(), and drops the tasks not started.
    void run_failed(std::exception_ptr error) noexcept {
        {
            std::lock_guard lock(runs_error_mutex);
            if (!runs_error) runs_error = std::move(error);
        }
        runs_cancelled.store(true, std::memory_order_relaxed);
    }
    /// The first exception since the last wait(), taken (null if none).
    std::exception_ptr take_run_error() noexcept {
        std::lock_guard lock(runs_error_mutex);
        return std::exchange(runs_error, nullptr);
    }

private:
    void start_drainer() {
        arena.enqueue(runs.defer([this] { drainer_body(); }));
    }

    /// A drainer's body: runs queued tasks; leaves when the queue is empty (or run() tasks are
    /// cancelled) and no task can have been pushed unseen, or queues itself again after a batch.
    void drainer_body() {
        for (;;) {
            if (run_queued(drainer_batch)) {
                start_drainer();  // keeps its place in `drainers`
                return;
            }
            drainers.fetch_sub(1);  // pairs with push_run's read-modify-write
            if (run_queue.empty() || runs_cancelled.load(std::memory_order_relaxed)) return;
            for (std::size_t running = drainers.load(std::memory_order_relaxed);;) {
                if (running >= concurrency) return;  // the others will run it
                if (drainers.compare_exchange_weak(running, running + 1)) break;
            }
        }
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

}  // namespace parex::detail
