#pragma once
// The bookkeeping one parallel call shares among its tasks: the first exception, the stop state (the
// caller's token, and an internal source that a failure requests), completed-unit counts and throttled
// progress. Cheap when unused: the internal std::stop_source (a heap allocation) exists only for calls
// whose work takes a std::stop_token.

#include <parex/run_control.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace parex::detail {

class run_state {
public:
    /// `with_token`: token() is needed (the work takes a std::stop_token, or a pipeline cancels on it).
    run_state(const run_options& options, std::size_t total, bool with_token = true)
        : options_(options),
          total_(total),
          last_report_(clock::now()) {
        if (!with_token) return;
        stop_.emplace();
        if (options.stop.stop_possible()) caller_stop_.emplace(options.stop, forward_stop{&*stop_});
    }

    run_state(const run_state&) = delete;
    run_state& operator=(const run_state&) = delete;

    /// Requested when the caller's token is, or when a task failed. Only with `with_token`.
    [[nodiscard]] std::stop_token token() const noexcept { return stop_ ? stop_->get_token() : std::stop_token{}; }
    [[nodiscard]] bool stopping() const noexcept {
        return failed_.load(std::memory_order_acquire) || options_.stop.stop_requested();
    }

    /// Records `error` if it is the first, and stops the run. Safe from any thread.
    void fail(std::exception_ptr error) noexcept {
        if (!claimed_.exchange(true, std::memory_order_acq_rel)) first_error_ = std::move(error);
        failed_.exchange(true, std::memory_order_acq_rel);  // an RMW: it extends the first failure's release
        if (stop_) stop_->request_stop();
    }

    /// One more unit of the (growing) total, for runs whose size is found as they go.
    void add_to_total() noexcept { total_.fetch_add(1, std::memory_order_relaxed); }

    /// `count` more units finished; may report progress (an exception from the callback escapes to the
    /// caller).
    void unit_done(std::size_t count = 1) {
        done_.fetch_add(count, std::memory_order_acq_rel);
        if (!options_.on_progress) return;
        const auto now = clock::now();
        if (now - last_report_.load(std::memory_order_relaxed) < options_.progress_interval) return;
        std::unique_lock lock(report_mutex_, std::try_to_lock);
        if (!lock.owns_lock()) return;  // someone is reporting right now: that report will do
        if (now - last_report_.load(std::memory_order_relaxed) < options_.progress_interval) return;
        const auto done = done_.load(std::memory_order_acquire);
        if (done <= last_reported_) return;
        last_reported_ = done;
        last_report_.store(now, std::memory_order_relaxed);
        options_.on_progress(progress{done, total_.load(std::memory_order_relaxed)});
    }

    [[nodiscard]] std::size_t done() const noexcept { return done_.load(std::memory_order_acquire); }
    [[nodiscard]] std::size_t total() const noexcept { return total_.load(std::memory_order_acquire); }

    /// Call once, on the calling thread, after every task has returned: the final progress report,
    /// then the first exception, or operation_cancelled if the caller stopped the run before its end.
    void finish() {
        const auto done = done_.load(std::memory_order_acquire);
        const auto total = total_.load(std::memory_order_acquire);
        if (options_.on_progress) {
            try {
                std::lock_guard lock(report_mutex_);
                options_.on_progress(progress{done, total});
            } catch (...) {
                fail(std::current_exception());
            }
        }
        if (failed_.load(std::memory_order_acquire)) std::rethrow_exception(first_error_);
        if (done < total || incomplete_) throw operation_cancelled(done, total);
    }

    /// Marks that work was left undone for a reason `done < total` cannot show (a pipeline source
    /// that was not drained).
    void mark_incomplete() noexcept { incomplete_ = true; }

private:
    using clock = std::chrono::steady_clock;
    struct forward_stop {
        std::stop_source* target;
        void operator()() const noexcept { target->request_stop(); }
    };

    const run_options& options_;
    std::atomic<std::size_t> total_;
    std::atomic<std::size_t> done_{0};
    std::atomic<bool> claimed_{false};  // the first failure claims first_error_
    std::atomic<bool> failed_{false};   // set after first_error_ is written
    std::exception_ptr first_error_;
    std::mutex report_mutex_;
    std::size_t last_reported_ = 0;  // guarded by report_mutex_
    std::atomic<clock::time_point> last_report_;
    bool incomplete_ = false;
    std::optional<std::stop_source> stop_;
    std::optional<std::stop_callback<forward_stop>> caller_stop_;  // last: it may fire at once, into stop_
};

}  // namespace parex::detail
