#pragma once
// parex/errors.hpp: every exception parex throws. Each derives from parex::error, so one handler catches
// all of them, and from the standard exception a caller would otherwise expect (std::invalid_argument
// for a bad argument, std::bad_alloc for a full arena, ...), so existing standard handlers keep working.
// Exceptions thrown by user functions (chunk functions, stages, tasks, initializers) are never wrapped:
// they reach the caller unchanged.

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>

namespace parex {

/// The base of every exception parex throws itself. `what()` names the operation and the value at fault.
class error {
public:
    virtual ~error() = default;
    [[nodiscard]] virtual const char* what() const noexcept = 0;

protected:
    error() = default;
    error(const error&) = default;
    error& operator=(const error&) = default;
};

namespace detail {
/// A parex::error that is also the standard exception Std; what() is Std's message.
template <class Std>
class error_as : public Std, public error {
public:
    using Std::Std;
    [[nodiscard]] const char* what() const noexcept override { return Std::what(); }
};
}  // namespace detail

// --- bad arguments and misuse --------------------------------------------------------------------

/// An argument parex cannot accept: a zero size, a malformed name, PAREX_NUM_THREADS that is not a
/// number. The message names the argument and its value.
class invalid_argument : public detail::error_as<std::invalid_argument> {
    using error_as::error_as;
};

/// An offset or pointer outside the object it must lie in (shm_arena::at, offset_of).
class out_of_range : public detail::error_as<std::out_of_range> {
    using error_as::error_as;
};

/// A call that the object's state does not allow: per-worker state used outside its executor's work,
/// a task submitted to a worker_pool that is being destroyed.
class logic_error : public detail::error_as<std::logic_error> {
    using error_as::error_as;
};

/// A failed system call (shm_open, ftruncate, mmap); code() holds errno.
class system_error : public detail::error_as<std::system_error> {
    using error_as::error_as;
};

/// Thrown when a chunk plan cannot be made or checked: a zero grain or count, a boundary finder that
/// broke its contract, a speculative parse result that does not fit its chunk. Says which chunk and
/// which byte offset.
class chunking_error : public invalid_argument {
public:
    chunking_error(const std::string& what, std::size_t chunk_index, std::size_t offset)
        : invalid_argument("parex: " + what + " (chunk " + std::to_string(chunk_index) + ", offset " +
                           std::to_string(offset) + ")"),
          chunk_index_(chunk_index),
          offset_(offset) {}
    [[nodiscard]] std::size_t chunk_index() const noexcept { return chunk_index_; }
    [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

private:
    std::size_t chunk_index_;
    std::size_t offset_;
};

// --- cancellation and timeouts -------------------------------------------------------------------

/// Thrown by a parallel call (for_each, map, map_reduce, run_pipeline, wait) whose stop token was
/// requested, or whose tasks were cancelled, before all of its work ran.
class operation_cancelled : public detail::error_as<std::runtime_error> {
public:
    operation_cancelled(std::size_t done, std::size_t total)
        : error_as("parex: cancelled after " + std::to_string(done) + " of " + std::to_string(total) +
                   " units of work"),
          done_(done),
          total_(total) {}
    /// Units (chunks, items or tasks) that completed before the stop.
    [[nodiscard]] std::size_t done() const noexcept { return done_; }
    /// Units the call had (for a pipeline: items the source produced).
    [[nodiscard]] std::size_t total() const noexcept { return total_; }

private:
    std::size_t done_;
    std::size_t total_;
};

/// The future of a task that was dropped before it ran: its stop token was requested, or
/// worker_pool::cancel() removed it from the queue.
class task_cancelled : public detail::error_as<std::runtime_error> {
public:
    task_cancelled() : error_as("parex: task cancelled before it ran") {}
};

/// The future of a task whose deadline passed (before it ran, or while it ran: then its stop token is
/// requested and its eventual result is discarded).
class task_timeout : public detail::error_as<std::runtime_error> {
public:
    task_timeout() : error_as("parex: task deadline passed") {}
};

// --- shared memory -------------------------------------------------------------------------------

/// Thrown by shm_arena::allocate() when the arena cannot hold the request; a std::bad_alloc, so pmr
/// containers report it as they report any allocation failure.
class arena_full : public std::bad_alloc, public error {
public:
    arena_full(std::size_t requested, std::size_t available)
        : message_("parex: shm_arena full: " + std::to_string(requested) + " bytes requested, " +
                   std::to_string(available) + " available"),
          requested_(requested),
          available_(available) {}
    [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
    [[nodiscard]] std::size_t requested() const noexcept { return requested_; }
    [[nodiscard]] std::size_t available() const noexcept { return available_; }

private:
    std::string message_;
    std::size_t requested_;
    std::size_t available_;
};

/// Thrown by shm_arena::attach() for a segment that is not a valid parex arena; says which and why.
class segment_error : public detail::error_as<std::runtime_error> {
public:
    enum class reason : std::uint8_t { foreign, truncated, corrupt, version };
    segment_error(reason why, const std::string& name, const std::string& detail)
        : error_as("parex: shared-memory segment '" + name + "' is " + describe(why) + ": " + detail),
          reason_(why) {}
    [[nodiscard]] reason why() const noexcept { return reason_; }

private:
    static std::string describe(reason why) {
        switch (why) {
            case reason::foreign: return "not a parex arena";
            case reason::truncated: return "truncated";
            case reason::corrupt: return "corrupt";
            case reason::version: return "of another layout version";
        }
        return "invalid";
    }
    reason reason_;
};

}  // namespace parex
