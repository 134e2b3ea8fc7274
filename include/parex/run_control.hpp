#pragma once
// parex/run_control.hpp: what every parallel call of parex takes besides its work (a stop token and a
// progress callback), and what one submitted task takes (a stop token and a deadline). How a call ends when it does not finish (operation_cancelled for a call,
// task_cancelled and task_timeout for one task's future) is in parex/errors.hpp.

#include <parex/errors.hpp>  // operation_cancelled, task_cancelled, task_timeout

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stop_token>

namespace parex {

/// A progress report: `done` units (chunks, pipeline items) finished out of `total`.
/// For a pipeline `total` is the number of items the source has produced so far (the end is not known
/// in advance); the final report has done == total when the run completed.
struct progress {
    std::size_t done = 0;
    std::size_t total = 0;
};

/// Per-call options of chunked_executor and run_pipeline.
struct run_options {
    /// Cooperative cancellation: once stop is requested no new chunk or item starts, chunks that take
    /// a std::stop_token see it, and the call throws operation_cancelled if any work was left undone.
    std::stop_token stop{};
    /// Called from any thread, never concurrently, with `done` never decreasing; at most once per
    /// `progress_interval` while running, and always exactly once at the end, on the calling thread,
    /// whether the call succeeds, fails or is cancelled. An exception it throws while running fails the
    /// call like a chunk's exception.
    std::function<void(progress)> on_progress{};
    std::chrono::milliseconds progress_interval{100};
};

/// Options of one submitted task (chunked_executor::submit, worker_pool::submit).
struct task_options {
    /// Cooperative cancellation: requested before the task starts, the task is dropped (its future
    /// throws task_cancelled); requested while it runs, a task that takes a std::stop_token sees it.
    std::stop_token stop{};
    /// Past this time a task that has not started is dropped and one that runs sees stop requested;
    /// either way its future throws task_timeout at the deadline. Empty = no deadline.
    std::optional<std::chrono::steady_clock::time_point> deadline{};
};

}  // namespace parex
