#pragma once
// parex/run_control.hpp: what every parallel call of parex takes besides its work (a stop token and a
// progress callback). How a call ends when it does not finish (operation_cancelled for a call,
// task_cancelled and task_timeout for one task's future) is in parex/errors.hpp.

#include <parex/errors.hpp>  // operation_cancelled, task_cancelled, task_timeout

#include <chrono>
#include <cstddef>
#include <functional>
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

}  // namespace parex
