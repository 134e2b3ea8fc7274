#pragma once
// parex/run_control.hpp: what every parallel call of parex takes besides its work (a stop token and a
// progress callback) and how it ends when it does not finish (operation_cancelled for a call, task_cancelled
// and task_timeout for one task's future).

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>

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

/// Thrown by a parallel call whose stop token was requested before all of its work ran.
class operation_cancelled : public std::runtime_error {
public:
    operation_cancelled(std::size_t done, std::size_t total)
        : std::runtime_error("parex: cancelled after " + std::to_string(done) + " of " + std::to_string(total) +
                             " units of work"),
          done_(done), total_(total) {}
    /// Units (chunks or items) that completed before the stop.
    [[nodiscard]] std::size_t done() const noexcept { return done_; }
    /// Units the call had (for a pipeline: items the source produced).
    [[nodiscard]] std::size_t total() const noexcept { return total_; }

private:
    std::size_t done_;
    std::size_t total_;
};

/// The future of a task that was dropped before it ran: its stop token was requested, or
/// worker_pool::cancel_pending() removed it from the queue.
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

}  // namespace parex
